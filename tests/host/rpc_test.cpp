// The sizes the runtime's typed IPC checks (lib/runtime/include/mica/rpc.h):
// which replies rpc::call_sized takes as the protocol's and which it refuses
// (kErrProtocol), and the least request and reply each operation declares.
#include "mica/rpc.h"

#include <gtest/gtest.h>

#include "proto/console.h"
#include "proto/disk.h"
#include "proto/fs.h"
#include "proto/init.h"
#include "proto/log.h"
#include "proto/ns.h"
#include "proto/pci.h"
#include "proto/rtc.h"

using mica::kErrInvalidArgument;
using mica::kErrLimit;
using mica::kErrNotFound;
using mica::kOk;
using mica::rpc::idempotent;
using mica::rpc::min_reply;
using mica::rpc::min_request;
using mica::rpc::reply_shape_ok;

namespace {

struct Fixed {
    static constexpr uint64_t kLabel = 1;
    struct Request { uint64_t a, b; };
    struct Reply { uint32_t x; };
};

struct Tail {
    static constexpr uint64_t kLabel = 2;
    static constexpr bool kIdempotent = true;
    struct Request { uint32_t n; uint32_t reserved; char data[100]; };
    static constexpr uint32_t kMinRequest = offsetof(Request, data);
    struct Reply { uint32_t n; uint32_t reserved; char data[50]; };
    static constexpr uint32_t kMinReply = offsetof(Reply, data);
};

// What call<Op> accepts: from min_reply<Op>() to the whole Reply.
template <class Op>
bool accepted(int64_t status, uint32_t size) {
    return reply_shape_ok(status, size, min_reply<Op>(), sizeof(typename Op::Reply));
}

}  // namespace

TEST(Rpc, AFixedOperationsLeastIsItsWholeStruct) {
    EXPECT_EQ(min_request<Fixed>(), 16u);
    EXPECT_EQ(min_reply<Fixed>(), 4u);
    EXPECT_FALSE(idempotent<Fixed>());
}

TEST(Rpc, AVariableTailMakesTheLeastItsFixedPart) {
    EXPECT_EQ(min_request<Tail>(), 8u);
    EXPECT_EQ(min_reply<Tail>(), 8u);
    EXPECT_TRUE(idempotent<Tail>());
}

TEST(Rpc, TheFileProtocolsTailsAreDeclared) {
    // A read answers its header and the data it has, a write sends its
    // header and the data it carries; the rest is sent whole.
    EXPECT_EQ(min_reply<proto::fs::Read>(), 8u);
    EXPECT_EQ(min_request<proto::fs::Read>(), sizeof(proto::fs::Read::Request));
    EXPECT_EQ(min_request<proto::fs::Write>(), proto::fs::kPathMax + 16);
    EXPECT_EQ(min_reply<proto::fs::Write>(), 4u);
    EXPECT_EQ(min_reply<proto::fs::Stat>(), sizeof(proto::fs::Stat::Reply));
    EXPECT_EQ(min_reply<proto::disk::Read>(), 8u);
    EXPECT_EQ(min_request<proto::disk::Write>(), 16u);
    // Repeated after a server restart: only what is safe to do twice.
    EXPECT_TRUE(idempotent<proto::fs::Write>());
    EXPECT_FALSE(idempotent<proto::fs::Unlink>());
    EXPECT_FALSE(idempotent<proto::fs::Mkdir>());
}

TEST(Rpc, AFixedReplyMustBeExactlyItsSize) {
    EXPECT_TRUE(accepted<Fixed>(kOk, 4));
    EXPECT_TRUE(accepted<Fixed>(7, 4));  // any status >= 0 is a success
    EXPECT_FALSE(accepted<Fixed>(kOk, 0));
    EXPECT_FALSE(accepted<Fixed>(kOk, 3));
    EXPECT_FALSE(accepted<Fixed>(kOk, 5));
}

TEST(Rpc, AVariableReplyMayBeAnySizeFromItsFixedPartUp) {
    EXPECT_FALSE(accepted<Tail>(kOk, 7));
    EXPECT_TRUE(accepted<Tail>(kOk, 8));
    EXPECT_TRUE(accepted<Tail>(kOk, 30));
    EXPECT_TRUE(accepted<Tail>(kOk, sizeof(Tail::Reply)));
    EXPECT_FALSE(accepted<Tail>(kOk, sizeof(Tail::Reply) + 1));
    uint32_t whole = sizeof(proto::fs::Read::Reply);
    EXPECT_TRUE(accepted<proto::fs::Read>(kOk, 8 + 4096));
    EXPECT_TRUE(accepted<proto::fs::Read>(kOk, whole));
    EXPECT_FALSE(accepted<proto::fs::Read>(kOk, 4));
}

TEST(Rpc, AnErrorIsTakenWhateverItCarries) {
    // An error's reply data is not looked at: the status is the answer.
    EXPECT_TRUE(accepted<Fixed>(kErrNotFound, 0));
    EXPECT_TRUE(accepted<Fixed>(kErrInvalidArgument, 3));
    EXPECT_TRUE(accepted<Tail>(kErrLimit, 1000));
    EXPECT_TRUE(reply_shape_ok(-1, UINT32_MAX, 8, 8));
}

TEST(Rpc, CallRawWantsExactlyTheSizeItGives) {
    // call_raw is call_sized with the least and the most the same: init's
    // liveness ping takes only an empty success.
    EXPECT_TRUE(reply_shape_ok(kOk, 0, 0, 0));
    EXPECT_FALSE(reply_shape_ok(kOk, 1, 0, 0));
    EXPECT_FALSE(reply_shape_ok(kOk, 3, 0, 0));
    EXPECT_TRUE(reply_shape_ok(kOk, 64, 64, 64));
    EXPECT_FALSE(reply_shape_ok(kOk, 63, 64, 64));
}

namespace {

// The corrupted reply a server sends when fault injection asks it to
// (kCorruptReplyLabel): a success of three bytes.
constexpr uint32_t kCorruptReplySize = 3;

template <class... Ops>
int accepting_corrupt_reply() {
    return (0 + ... + (accepted<Ops>(0x1234, kCorruptReplySize) ? 1 : 0));
}

}  // namespace

TEST(Rpc, EveryOperationRefusesTheInjectedCorruptReply) {
    // What makes fault injection's garbled answer a detected kErrProtocol
    // (and retried where idempotent) for every operation of every protocol,
    // never a success with a half-filled reply.
    using namespace proto;
    EXPECT_EQ((accepting_corrupt_reply<fs::Stat, fs::Read, fs::ReadDir, fs::Write, fs::Create, fs::Truncate,
                                       fs::Unlink, fs::Mkdir, fs::Rmdir, fs::Rename, fs::Sync, fs::StatFs>()),
              0);
    EXPECT_EQ((accepting_corrupt_reply<disk::Info, disk::Read, disk::Write, disk::Flush>()), 0);
    EXPECT_EQ((accepting_corrupt_reply<console::Write, console::ReadLine, console::Input>()), 0);
    EXPECT_EQ((accepting_corrupt_reply<ns::Register, ns::Allow, ns::Lookup, ns::Grant, ns::Launcher, ns::Delegate,
                                       ns::Release, ns::Schemes>()),
              0);
    EXPECT_EQ((accepting_corrupt_reply<init::Ps, init::Kill, init::Poweroff>()), 0);
    EXPECT_EQ((accepting_corrupt_reply<log::Append, log::Name, log::Read>()), 0);
    EXPECT_EQ((accepting_corrupt_reply<pci::Claim, pci::Bar, pci::Irq, pci::Config>()), 0);
    EXPECT_EQ((accepting_corrupt_reply<rtc::Now>()), 0);
    // And it can fail: an operation whose reply is three bytes would take it.
    struct Three {
        struct Reply { char c[3]; };
    };
    EXPECT_EQ(accepting_corrupt_reply<Three>(), 1);
}

TEST(Rpc, CloseGoesInRegisters) {
    // Close: the node in the message's three words and a reply of no data,
    // so the kernel's fast path carries it both ways (rpc::call_words; an
    // answer with data does not fit a caller with no buffer, and comes back
    // as kErrProtocol, made again as Close is idempotent). Operations with
    // more to say go as data.
    using namespace proto;
    using mica::rpc::in_registers;
    EXPECT_TRUE(in_registers<fs::Close>());
    EXPECT_LE(sizeof(fs::Close::Request), 3 * sizeof(uint64_t));
    EXPECT_EQ(min_reply<fs::Close>(), 0u);
    EXPECT_TRUE(idempotent<fs::Close>());
    EXPECT_FALSE(in_registers<fs::Open>());
    EXPECT_FALSE(in_registers<fs::NodeRead>());
    EXPECT_FALSE(in_registers<fs::CloseMany>());
    EXPECT_FALSE(in_registers<Fixed>());
}

TEST(Rpc, ANodeReadReplyIsItsDataAloneAndItsStatusItsSize) {
    // NodeRead's reply has no header: the runtime receives the bytes into
    // the reader's buffer and takes the status for their count, only if
    // the reply brought exactly that many and no more than asked.
    using proto::fs::NodeRead;
    EXPECT_EQ(min_reply<NodeRead>(), 0u);
    EXPECT_TRUE(idempotent<NodeRead>());
    EXPECT_TRUE(NodeRead::reply_ok(4096, 4096, 4096));
    EXPECT_TRUE(NodeRead::reply_ok(100, 100, 4096));  // a short read, at the end
    EXPECT_TRUE(NodeRead::reply_ok(0, 0, 4096));      // past the end
    EXPECT_TRUE(NodeRead::reply_ok(kErrNotFound, 0, 4096));
    EXPECT_FALSE(NodeRead::reply_ok(4096, 100, 4096));   // says more than it brings
    EXPECT_FALSE(NodeRead::reply_ok(100, 4096, 4096));   // brings more than it says
    EXPECT_FALSE(NodeRead::reply_ok(8192, 8192, 4096));  // more than asked
    // Fault injection's garbled answer (a "success" of three bytes) is refused.
    EXPECT_FALSE(NodeRead::reply_ok(0x1234, kCorruptReplySize, 4096));
}
