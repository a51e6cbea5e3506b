#include "text/bpe.h"

#include <queue>

namespace schwarm::text {

void BpeMerges::add(TokenId32 left, TokenId32 right, int32_t rank, TokenId32 merged) {
  map_.try_emplace(key(left, right), Merge{rank, merged});  // first (lowest rank) wins
}

const BpeMerges::Merge* BpeMerges::find(TokenId32 left, TokenId32 right) const {
  auto it = map_.find(key(left, right));
  return it == map_.end() ? nullptr : &it->second;
}

namespace {

struct Node {
  BpeSymbol sym;
  int32_t prev, next;
  bool alive;
};

struct Candidate {
  int32_t rank;
  int32_t left;  // node index
  TokenId32 left_id, right_id, merged;
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
};

}  // namespace

void bpe_merge(std::vector<BpeSymbol>& symbols, const BpeMerges& merges) {
  const int32_t n = static_cast<int32_t>(symbols.size());
  if (n < 2) return;
  std::vector<Node> nodes(n);
  for (int32_t i = 0; i < n; ++i) nodes[i] = {symbols[i], i - 1, i + 1 < n ? i + 1 : -1, true};

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto consider = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = nodes[left].next;
    if (right < 0) return;
    const TokenId32 a = nodes[left].sym.id, b = nodes[right].sym.id;
    if (a < 0 || b < 0) return;
    if (const auto* m = merges.find(a, b)) heap.push({m->rank, left, a, b, m->merged});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);

  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Node& l = nodes[c.left];
    // A candidate is stale when either side has changed since it was queued. Token ids only
    // change by merging into a longer token, so equal ids mean equal text.
    if (!l.alive || l.sym.id != c.left_id || l.next < 0) continue;
    Node& r = nodes[l.next];
    if (r.sym.id != c.right_id) continue;
    l.sym.id = c.merged;
    l.sym.len += r.sym.len;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) nodes[r.next].prev = c.left;
    consider(l.prev);
    consider(c.left);
  }

  symbols.clear();
  for (int32_t i = 0; i >= 0; i = nodes[i].next) symbols.push_back(nodes[i].sym);
}

}  // namespace schwarm::text
