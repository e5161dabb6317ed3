#include "lib/heap.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {
struct HeapTest : ::testing::Test {
    alignas(16) unsigned char arena[64 * 1024];
    Heap heap;
    void SetUp() override { heap.add_region(arena, sizeof arena); }
};
}  // namespace

TEST_F(HeapTest, AllocationsAreAlignedDisjointAndInside) {
    std::vector<std::pair<uint8_t*, size_t>> blocks;
    for (size_t size : {1, 15, 16, 17, 100, 1000, 4096}) {
        auto* p = static_cast<uint8_t*>(heap.allocate(size));
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Heap::kAlign, 0u);
        EXPECT_GE(p, arena);
        EXPECT_LE(p + size, arena + sizeof arena);
        for (auto& [q, n] : blocks) EXPECT_TRUE(p + size <= q || q + n <= p);
        blocks.push_back({p, size});
    }
}

TEST_F(HeapTest, FreeingEverythingRestoresOneBlock) {
    size_t before = heap.bytes_free();
    std::vector<void*> ptrs;
    for (int i = 0; i < 100; ++i) ptrs.push_back(heap.allocate(100 + i));
    std::mt19937 rng(1);
    std::shuffle(ptrs.begin(), ptrs.end(), rng);
    for (void* p : ptrs) ASSERT_TRUE(heap.free(p));
    EXPECT_EQ(heap.bytes_free(), before);
    // Coalesced: the whole arena is allocatable again in one piece.
    EXPECT_NE(heap.allocate(before - 64), nullptr);
}

TEST_F(HeapTest, ExhaustionReturnsNull) {
    EXPECT_EQ(heap.allocate(sizeof arena), nullptr);
    EXPECT_EQ(heap.allocate(SIZE_MAX), nullptr);
    EXPECT_EQ(heap.allocate(SIZE_MAX - 8), nullptr);
}

TEST_F(HeapTest, DoubleAndForeignFreeAreRefused) {
    void* p = heap.allocate(64);
    ASSERT_TRUE(heap.free(p));
    EXPECT_FALSE(heap.free(p));
    alignas(16) unsigned char elsewhere[64] = {};
    EXPECT_FALSE(heap.free(elsewhere + 16));
    EXPECT_FALSE(heap.free(nullptr));
    EXPECT_FALSE(heap.free(arena + 3));
}

TEST_F(HeapTest, RandomChurnKeepsAccounting) {
    std::mt19937 rng(42);
    std::vector<std::pair<uint8_t*, size_t>> live;
    size_t before = heap.bytes_free();
    for (int i = 0; i < 5000; ++i) {
        if (live.empty() || rng() % 3 != 0) {
            size_t n = 1 + rng() % 700;
            auto* p = static_cast<uint8_t*>(heap.allocate(n));
            if (!p) continue;
            memset(p, static_cast<int>(n & 0xff), n);
            live.push_back({p, n});
        } else {
            size_t k = rng() % live.size();
            auto [p, n] = live[k];
            for (size_t j = 0; j < n; ++j) ASSERT_EQ(p[j], static_cast<uint8_t>(n & 0xff));
            ASSERT_TRUE(heap.free(p));
            live.erase(live.begin() + static_cast<long>(k));
        }
    }
    for (auto& [p, n] : live) ASSERT_TRUE(heap.free(p));
    EXPECT_EQ(heap.bytes_free(), before);
}
