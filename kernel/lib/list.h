// Intrusive doubly-linked lists: an object holds a ListNode per list it can
// be on, so putting it on a list never allocates (and so never fails).
#pragma once

#include <stddef.h>

struct ListNode {
    ListNode* prev = nullptr;
    ListNode* next = nullptr;
    bool linked() const { return next != nullptr; }
};

template <typename T, ListNode T::*Node>
class List {
public:
    List() { head_.prev = head_.next = &head_; }
    List(const List&) = delete;
    List& operator=(const List&) = delete;

    bool empty() const { return head_.next == &head_; }
    size_t size() const {  // walks the list: for statistics, not hot paths
        size_t n = 0;
        for (const ListNode* at = head_.next; at != &head_; at = at->next) ++n;
        return n;
    }

    void push_back(T* item) { link_before(&head_, item); }
    // Inserts `item` before `pos` (null: at the end).
    void insert_before(T* pos, T* item) { link_before(pos ? &(pos->*Node) : &head_, item); }

    void remove(T* item) {
        ListNode& n = item->*Node;
        n.prev->next = n.next;
        n.next->prev = n.prev;
        n.prev = n.next = nullptr;
    }

    T* front() const { return empty() ? nullptr : owner(head_.next); }
    T* pop_front() {
        T* item = front();
        if (item) remove(item);
        return item;
    }
    T* next(T* item) const {
        ListNode* n = (item->*Node).next;
        return n == &head_ ? nullptr : owner(n);
    }

    // Safe against removing the current item inside the loop body.
    template <typename F>
    void for_each(F&& f) {
        for (ListNode* n = head_.next; n != &head_;) {
            ListNode* following = n->next;
            f(owner(n));
            n = following;
        }
    }

private:
    static T* owner(ListNode* n) {
        // The node's offset inside T, computed without a T object.
        alignas(T) static char probe[sizeof(T)];
        auto* fake = reinterpret_cast<T*>(probe);
        size_t offset = reinterpret_cast<char*>(&(fake->*Node)) - probe;
        return reinterpret_cast<T*>(reinterpret_cast<char*>(n) - offset);
    }
    void link_before(ListNode* pos, T* item) {
        ListNode& n = item->*Node;
        n.prev = pos->prev;
        n.next = pos;
        pos->prev->next = &n;
        pos->prev = &n;
    }

    ListNode head_;
};
