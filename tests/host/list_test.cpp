#include "lib/list.h"

#include <gtest/gtest.h>

#include <vector>

namespace {
struct Item {
    int value;
    ListNode a;
    ListNode b;
};
using ListA = List<Item, &Item::a>;
using ListB = List<Item, &Item::b>;

std::vector<int> values(ListA& l) {
    std::vector<int> out;
    for (Item* i = l.front(); i; i = l.next(i)) out.push_back(i->value);
    return out;
}
}  // namespace

TEST(List, OrderAndRemoval) {
    Item x{1, {}, {}}, y{2, {}, {}}, z{3, {}, {}};
    ListA l;
    EXPECT_TRUE(l.empty());
    l.push_back(&x);
    l.push_back(&z);
    l.insert_before(&z, &y);
    EXPECT_EQ(values(l), (std::vector<int>{1, 2, 3}));
    l.remove(&y);
    EXPECT_FALSE(y.a.linked());
    EXPECT_EQ(values(l), (std::vector<int>{1, 3}));
    l.insert_before(l.front(), &y);  // at the front
    EXPECT_EQ(values(l), (std::vector<int>{2, 1, 3}));
    EXPECT_EQ(l.pop_front(), &y);
    EXPECT_EQ(l.size(), 2u);
    l.insert_before(nullptr, &y);  // at the end
    EXPECT_EQ(values(l), (std::vector<int>{1, 3, 2}));
}

TEST(List, AnItemCanBeOnTwoListsAtOnce) {
    Item x{1, {}, {}}, y{2, {}, {}};
    ListA la;
    ListB lb;
    la.push_back(&x);
    la.push_back(&y);
    lb.push_back(&y);
    lb.push_back(&x);
    EXPECT_EQ(la.front(), &x);
    EXPECT_EQ(lb.front(), &y);
    la.remove(&x);
    EXPECT_EQ(lb.next(&y), &x);
}

TEST(List, ForEachToleratesRemovingTheCurrentItem) {
    Item items[5] = {{0, {}, {}}, {1, {}, {}}, {2, {}, {}}, {3, {}, {}}, {4, {}, {}}};
    ListA l;
    for (auto& i : items) l.push_back(&i);
    l.for_each([&](Item* i) {
        if (i->value % 2 == 0) l.remove(i);
    });
    EXPECT_EQ(values(l), (std::vector<int>{1, 3}));
}
