// Paged KV cache: page accounting, page tables, reuse of ids and pages, clear errors when full.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "runtime/kv_cache.h"
#include "runtime/npy.h"
#include "schwarm/error.h"

namespace schwarm {
namespace {

TEST(KvCache, MlaLayoutBytesPerToken) {
  // DeepSeek-V3: 61 layers x (kv_lora 512 + rope 64) floats.
  KvCache c(std::vector<KvLayerSpec>(61, KvLayerSpec{512, 64}), 2, 16);
  EXPECT_EQ(c.bytes_per_token(), 61 * 576 * 4);
  ASSERT_EQ(c.layers().size(), 61u);
  EXPECT_EQ(c.layers()[0].k.size(), 2u * 16u * 512u);
  EXPECT_EQ(c.layers()[0].v.size(), 2u * 16u * 64u);
}

TEST(KvCache, ReserveTakesWholePagesAndFreeReturnsThem) {
  KvCache c({{4, 2}, {4, 2}}, 5, 4);
  const int32_t a = c.add_sequence(), b = c.add_sequence();
  c.reserve(a, 1);
  EXPECT_EQ(c.page_table(a).size(), 1u);
  c.reserve(a, 4);
  EXPECT_EQ(c.page_table(a).size(), 1u);
  c.reserve(a, 5);
  EXPECT_EQ(c.page_table(a).size(), 2u);
  c.reserve(b, 9);
  EXPECT_EQ(c.page_table(b).size(), 3u);
  EXPECT_EQ(c.free_pages(), 0);
  std::set<int32_t> pages(c.page_table(a).begin(), c.page_table(a).end());
  pages.insert(c.page_table(b).begin(), c.page_table(b).end());
  EXPECT_EQ(pages.size(), 5u) << "no page handed out twice";
  try {
    c.reserve(a, 9);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("KV cache full"), std::string::npos) << e.what();
  }
  EXPECT_EQ(c.page_table(a).size(), 2u) << "a failed reserve takes nothing";
  c.free_sequence(b);
  EXPECT_EQ(c.free_pages(), 3);
  EXPECT_FALSE(c.is_live(b));
  EXPECT_EQ(c.page_tables()[static_cast<size_t>(b)].size(), 0u);
  EXPECT_EQ(c.add_sequence(), b) << "ids are reused";
  EXPECT_TRUE(c.page_table(b).empty());
  EXPECT_THROW(c.page_table(7), Error);
}

TEST(KvCache, RejectsBadSizes) {
  EXPECT_THROW(KvCache({{1, 1}}, 0, 16), Error);
  EXPECT_THROW(KvCache({{1, 1}}, 1, 0), Error);
}

TEST(Npy, RoundTrip) {
  const std::string path = ::testing::TempDir() + "/schwarm_npy_roundtrip.npy";
  const std::vector<float> d{1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  write_npy_f32(path, d, {2, 3});
  const NpyArray a = read_npy_f32(path);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.data, d);
  EXPECT_THROW(write_npy_f32(path, d, {4, 2}), Error);
}

}  // namespace
}  // namespace schwarm
