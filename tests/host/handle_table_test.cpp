#include "handle_table.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "mica/errors.h"

using namespace mica;

// The table's lookup is private to the kernel's checkpoint; the tests reach it here.
class HandleTableProbe {
public:
    static const HandleTable::Entry* find(const HandleTable& t, Handle h) { return t.find(h); }
};

namespace {
int g_destroyed = 0;
int g_zero_handles = 0;

struct Thing final : KObject {
    static constexpr ObjectType kType = ObjectType::memory;
    Thing() : KObject(kType) {}
    ~Thing() override { ++g_destroyed; }
    void on_zero_handles() override { ++g_zero_handles; }
    void on_handle_removed(uint32_t) override {}
};

struct HandleTableTest : ::testing::Test {
    Ref<Quota> quota{Quota::create_root(1 << 20)};
    HandleTable table;
    void SetUp() override { g_destroyed = g_zero_handles = 0; }
    void TearDown() override {
        table.clear(*quota);
        EXPECT_EQ(quota->used(), 0u);
    }
};
}  // namespace

TEST_F(HandleTableTest, AddFindRemove) {
    Ref<Thing> t(new Thing);
    int64_t h = table.add(t.get(), kRightRead, *quota);
    ASSERT_GT(h, 0);
    const HandleTable::Entry* e = HandleTableProbe::find(table, static_cast<Handle>(h));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->object, t.get());
    EXPECT_EQ(e->rights, kRightRead);
    EXPECT_EQ(t->refs(), 2u);
    EXPECT_EQ(table.remove(static_cast<Handle>(h)), kOk);
    EXPECT_EQ(t->refs(), 1u);
    EXPECT_EQ(g_zero_handles, 1);
    EXPECT_EQ(HandleTableProbe::find(table, static_cast<Handle>(h)), nullptr);
    EXPECT_EQ(table.remove(static_cast<Handle>(h)), kErrBadHandle);
}

TEST_F(HandleTableTest, StaleHandleDoesNotNameTheNextObjectInItsSlot) {
    Ref<Thing> a(new Thing), b(new Thing);
    auto ha = static_cast<Handle>(table.add(a.get(), kRightsAll, *quota));
    ASSERT_EQ(table.remove(ha), kOk);
    auto hb = static_cast<Handle>(table.add(b.get(), kRightsAll, *quota));
    EXPECT_EQ(ha & 0xffff, hb & 0xffff);  // same slot...
    EXPECT_NE(ha, hb);                     // ...different value
    EXPECT_EQ(HandleTableProbe::find(table, ha), nullptr);
    EXPECT_NE(HandleTableProbe::find(table, hb), nullptr);
}

TEST_F(HandleTableTest, ASlotWhoseGenerationsAreUsedUpIsRetired) {
    Ref<Thing> a(new Thing);
    auto first = static_cast<Handle>(table.add(a.get(), kRightsAll, *quota));
    ASSERT_EQ(table.remove(first), kOk);
    std::set<Handle> seen{first};
    for (int i = 0; i < 40000; ++i) {
        auto h = static_cast<Handle>(table.add(a.get(), kRightsAll, *quota));
        ASSERT_GT(h, 0u);
        ASSERT_TRUE(seen.insert(h).second) << "value " << h << " named two objects, after " << i;
        ASSERT_EQ(HandleTableProbe::find(table, first), nullptr);
        ASSERT_EQ(table.remove(h), kOk);
    }
}

TEST_F(HandleTableTest, InvalidValuesFindNothing) {
    Ref<Thing> a(new Thing);
    table.add(a.get(), kRightsAll, *quota);
    for (Handle h : {0u, 0xffffu, 0xffffffffu, 0x80010001u, 0x00020001u, 17u})
        EXPECT_EQ(HandleTableProbe::find(table, h), nullptr) << h;
}

TEST_F(HandleTableTest, GrowthIsChargedAndRefusedOverQuota) {
    Ref<Quota> small(Quota::create_root(HandleTable::kEntryBytes * 16));
    HandleTable t;
    Ref<Thing> a(new Thing);
    std::vector<Handle> handles;
    for (int i = 0; i < 16; ++i) {
        int64_t h = t.add(a.get(), kRightsAll, *small);
        ASSERT_GT(h, 0);
        handles.push_back(static_cast<Handle>(h));
    }
    EXPECT_EQ(small->used(), 16 * HandleTable::kEntryBytes);
    EXPECT_EQ(t.add(a.get(), kRightsAll, *small), kErrQuotaExceeded);
    EXPECT_EQ(t.count(), 16u);
    t.clear(*small);
    EXPECT_EQ(small->used(), 0u);
    EXPECT_EQ(a->refs(), 1u);
}

TEST_F(HandleTableTest, ManyHandlesStayDistinct) {
    Ref<Thing> a(new Thing);
    std::set<Handle> seen;
    for (int i = 0; i < 1000; ++i) {
        int64_t h = table.add(a.get(), kRightsAll, *quota);
        ASSERT_GT(h, 0);
        ASSERT_TRUE(seen.insert(static_cast<Handle>(h)).second);
    }
    EXPECT_EQ(table.count(), 1000u);
    EXPECT_EQ(a->refs(), 1001u);
}

TEST_F(HandleTableTest, ClearDropsEveryReference) {
    auto* t = new Thing;
    table.add(t, kRightsAll, *quota);
    table.add(t, kRightRead, *quota);
    EXPECT_EQ(g_destroyed, 0);
    table.clear(*quota);
    EXPECT_EQ(g_destroyed, 1);
    EXPECT_EQ(g_zero_handles, 1);
}

TEST(Quota, ChildReservesFromParentAndGivesBack) {
    Ref<Quota> root(Quota::create_root(10000));
    {
        Ref<Quota> child(Quota::create_child(*root, 4000));
        ASSERT_TRUE(child);
        EXPECT_GE(root->used(), 4000u);
        EXPECT_TRUE(child->charge(4000));
        EXPECT_FALSE(child->charge(1));
        child->release(4000);
        EXPECT_EQ(Quota::create_child(*root, 9000), nullptr);  // does not fit
    }
    EXPECT_EQ(root->used(), 0u);
}

TEST(Quota, ChargeIsReturnedUnlessCommitted) {
    Ref<Quota> q(Quota::create_root(100));
    {
        Charge c(*q, 60);
        EXPECT_TRUE(c);
        Charge d(*q, 60);
        EXPECT_FALSE(d);
    }
    EXPECT_EQ(q->used(), 0u);
    {
        Charge c(*q, 60);
        c.commit();
    }
    EXPECT_EQ(q->used(), 60u);
    q->release(60);
}

TEST(NarrowRights, FewerOrTheSameNeverMore) {
    uint32_t out = 0;
    EXPECT_EQ(narrow_rights(kRightRead | kRightWrite, kRightsSame, &out), kOk);
    EXPECT_EQ(out, kRightRead | kRightWrite);
    EXPECT_EQ(narrow_rights(kRightRead | kRightWrite, kRightRead, &out), kOk);
    EXPECT_EQ(out, kRightRead);
    EXPECT_EQ(narrow_rights(kRightRead | kRightWrite, 0, &out), kOk);
    EXPECT_EQ(out, 0u);
    EXPECT_EQ(narrow_rights(kRightRead, kRightRead | kRightExecute, &out), kErrAccessDenied);
    EXPECT_EQ(narrow_rights(kRightsAll, kRightsSame | kRightRead, &out), kErrAccessDenied);
}
