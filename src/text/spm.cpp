#include "text/spm.h"

#include <queue>

#include "text/text_utf8.h"

namespace schwarm::text {
namespace {

struct Node {
  uint32_t start, len;
  int32_t prev, next;
};

struct Candidate {
  float score;
  int32_t left, right;
  uint32_t size;
  int32_t id;
  // Highest score first, then leftmost.
  bool operator<(const Candidate& o) const { return score != o.score ? score < o.score : left > o.left; }
};

}  // namespace

void spm_tokenize(std::string_view text, const SpmVocabView& vocab, std::vector<SpmPiece>& out) {
  std::vector<Node> nodes;
  nodes.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    const size_t n = std::min(utf8_seq_len(static_cast<uint8_t>(text[off])), text.size() - off);
    const int32_t idx = static_cast<int32_t>(nodes.size());
    nodes.push_back({static_cast<uint32_t>(off), static_cast<uint32_t>(n), idx - 1, -1});
    if (idx > 0) nodes[idx - 1].next = idx;
    off += n;
  }
  if (nodes.empty()) return;

  std::priority_queue<Candidate> heap;
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t size = nodes[left].len + nodes[right].len;
    if (size > vocab.max_token_bytes) return;
    const int32_t id = vocab.find(text.substr(nodes[left].start, size));
    if (id < 0) return;
    heap.push({vocab.score(id), left, right, size, id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(nodes.size()); ++i) consider(i, i + 1);

  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Node& l = nodes[c.left];
    Node& r = nodes[c.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != c.size || l.next != c.right) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) nodes[r.next].prev = c.left;
    consider(l.prev, c.left);
    consider(c.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = nodes[i].next) {
    const Node& s = nodes[i];
    out.push_back({vocab.find(text.substr(s.start, s.len)), s.start, s.len});
  }
}

}  // namespace schwarm::text
