#include "lib/frame_allocator.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace {
constexpr uint64_t kPage = FrameAllocator::kFrameSize;

struct FrameAllocatorTest : ::testing::Test {
    static constexpr size_t kFrames = 1000;  // not a multiple of 64 on purpose
    std::vector<uint64_t> bitmap = std::vector<uint64_t>(FrameAllocator::bitmap_words(kFrames));
    FrameAllocator fa;
    void SetUp() override { fa.init(bitmap.data(), kFrames); }
};
}  // namespace

TEST_F(FrameAllocatorTest, StartsFullyUsed) {
    EXPECT_EQ(fa.free_frames(), 0u);
    EXPECT_EQ(fa.allocate(), FrameAllocator::kNone);
}

TEST_F(FrameAllocatorTest, ReleaseIsInwardReserveIsOutward) {
    fa.release_range(kPage / 2, 3 * kPage);  // frames 1 and 2 wholly inside
    EXPECT_EQ(fa.free_frames(), 2u);
    fa.release_range(0, kFrames * kPage);
    EXPECT_EQ(fa.free_frames(), kFrames);
    fa.reserve_range(kPage + 1, 1);  // touches frame 1 only
    EXPECT_EQ(fa.free_frames(), kFrames - 1);
    fa.reserve_range(10 * kPage - 1, 2);  // touches frames 9 and 10
    EXPECT_EQ(fa.free_frames(), kFrames - 3);
}

TEST_F(FrameAllocatorTest, NeverHandsOutReservedOrSameFrameTwice) {
    fa.release_range(0, kFrames * kPage);
    fa.reserve_range(0, 100 * kPage);
    fa.reserve_range(500 * kPage, 10 * kPage);
    std::set<uint64_t> seen;
    for (;;) {
        uint64_t p = fa.allocate();
        if (p == FrameAllocator::kNone) break;
        ASSERT_EQ(p % kPage, 0u);
        ASSERT_GE(p, 100 * kPage);
        ASSERT_LT(p, kFrames * kPage);
        ASSERT_FALSE(p >= 500 * kPage && p < 510 * kPage);
        ASSERT_TRUE(seen.insert(p).second);
    }
    EXPECT_EQ(seen.size(), kFrames - 110);
    EXPECT_EQ(fa.free_frames(), 0u);
    for (uint64_t p : seen) ASSERT_TRUE(fa.free(p));
    EXPECT_EQ(fa.free_frames(), kFrames - 110);
}

TEST_F(FrameAllocatorTest, BadFreesAreRefused) {
    fa.release_range(0, kFrames * kPage);
    uint64_t p = fa.allocate();
    EXPECT_FALSE(fa.free(p + 1));
    EXPECT_TRUE(fa.free(p));
    EXPECT_FALSE(fa.free(p));  // double free
    EXPECT_FALSE(fa.free(kFrames * kPage));
    EXPECT_FALSE(fa.free(0, kFrames + 1));
    EXPECT_EQ(fa.free_frames(), kFrames);
}

TEST_F(FrameAllocatorTest, ContiguousRunsAreAlignedAndBounded) {
    fa.release_range(0, kFrames * kPage);
    fa.reserve_range(3 * kPage, kPage);  // a hole early on
    uint64_t a = fa.allocate_contiguous(16, 16);
    ASSERT_NE(a, FrameAllocator::kNone);
    EXPECT_EQ(a % (16 * kPage), 0u);
    EXPECT_GE(a, 16 * kPage);  // frames 0..15 contain the hole
    uint64_t b = fa.allocate_contiguous(8, 1, 40 * kPage);
    ASSERT_NE(b, FrameAllocator::kNone);
    EXPECT_LE(b + 8 * kPage, 40 * kPage);
    EXPECT_TRUE(b + 8 * kPage <= a || b >= a + 16 * kPage);
    EXPECT_EQ(fa.allocate_contiguous(kFrames, 1), FrameAllocator::kNone);
    EXPECT_EQ(fa.allocate_contiguous(0, 1), FrameAllocator::kNone);
    EXPECT_EQ(fa.allocate_contiguous(4, 1, 2 * kPage), FrameAllocator::kNone);
    EXPECT_TRUE(fa.free(a, 16));
    EXPECT_TRUE(fa.free(b, 8));
    EXPECT_EQ(fa.free_frames(), kFrames - 1);
}

// Contiguous runs past many words of used frames (whole words are passed
// in one step): the run found is always the lowest aligned one a frame by
// frame search finds, for alignments below, at and above a word's 64.
TEST_F(FrameAllocatorTest, ContiguousRunsMatchAFrameByFrameSearch) {
    unsigned seed = 7;
    auto next = [&] { return seed = seed * 1103515245u + 12345u, seed >> 16; };
    for (int round = 0; round < 200; ++round) {
        fa.release_range(0, kFrames * kPage);
        fa.reserve_range(0, (next() % 900) * kPage);  // a long used prefix
        for (int i = 0; i < 20; ++i) fa.reserve_range((next() % kFrames) * kPage, kPage);  // and scattered ones
        size_t count = 1 + next() % 40, align = size_t{1} << (next() % 8);
        size_t expected = FrameAllocator::kNone;
        for (size_t start = 0; start + count <= kFrames && expected == FrameAllocator::kNone; start += align) {
            bool all_free = true;
            for (size_t f = start; f < start + count && all_free; ++f) all_free = !(bitmap[f / 64] >> (f % 64) & 1);
            if (all_free) expected = start * kPage;
        }
        EXPECT_EQ(fa.allocate_contiguous(count, align), expected) << "round " << round;
    }
}
