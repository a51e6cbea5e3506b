// Kept engine sequences (RequestOptions::keep, Engine::extend / release / cancel) on
// tiny-deepseek-v3: continuing a kept request must give what one longer request gives, and every
// page must come back to the pool.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "runtime/engine.h"
#include "schwarm/error.h"

namespace {

using namespace schwarm;

struct Tiny {
  Checkpoint cp = Checkpoint::open(std::string(SCHWARM_TEST_DATA_DIR) + "/checkpoints/tiny-deepseek-v3");
  std::unique_ptr<Model> model = make_model(cp);
  std::unique_ptr<Backend> backend = make_ref_backend();
};

Tiny& tiny() {
  static Tiny t;
  return t;
}

const std::vector<int32_t> kPrompt = {1, 17, 42, 99, 7, 250};

RequestOptions opts(bool keep) {
  RequestOptions o;
  o.stop_ids = std::vector<int32_t>{};  // run to the budget
  o.keep = keep;
  return o;
}

std::vector<int32_t> run_alone(const std::vector<int32_t>& prompt, int64_t n) {
  Engine e(*tiny().model, *tiny().backend);
  const int64_t r = e.submit(prompt, n, opts(false));
  e.run();
  return e.output(r);
}

TEST(EngineKeep, ExtendEvaluatesOnlyNewPositionsAndMatchesOneRun) {
  Engine e(*tiny().model, *tiny().backend);
  const int64_t pages = e.cache().free_pages();
  const int64_t a = e.submit(kPrompt, 3, opts(true));
  e.run();
  EXPECT_EQ(e.cached(a), static_cast<int64_t>(kPrompt.size()) + 2);  // the last token is not evaluated yet
  EXPECT_LT(e.cache().free_pages(), pages);                         // kept

  const std::vector<int32_t> more = {5, 6};
  const int64_t b = e.extend(a, more, 4, opts(true));
  EXPECT_EQ(e.cached(a), 0);
  EXPECT_EQ(e.cached(b), static_cast<int64_t>(kPrompt.size()) + 2);
  e.run();
  std::vector<int32_t> history = kPrompt;
  history.insert(history.end(), e.output(a).begin(), e.output(a).end());
  EXPECT_EQ(e.output(a), run_alone(kPrompt, 3));
  EXPECT_EQ(e.prompt(b), [&] {
    std::vector<int32_t> p = history;
    p.insert(p.end(), more.begin(), more.end());
    return p;
  }());
  EXPECT_EQ(e.output(b), run_alone(e.prompt(b), 4));
  e.release(b);
  EXPECT_EQ(e.cache().free_pages(), pages);
}

TEST(EngineKeep, KeptPrefillThenExtendSamplesFromTheStoredLogits) {
  Engine e(*tiny().model, *tiny().backend);
  const int64_t p = e.submit(kPrompt, 0, opts(true));
  EXPECT_FALSE(e.finished(p));
  e.step();
  EXPECT_TRUE(e.finished(p));
  EXPECT_TRUE(e.output(p).empty());
  EXPECT_EQ(e.cached(p), static_cast<int64_t>(kPrompt.size()));
  const int64_t g = e.extend(p, {}, 5, opts(false));
  e.run();
  EXPECT_EQ(e.output(g), run_alone(kPrompt, 5));
}

TEST(EngineKeep, CancelAndReleaseReturnThePages) {
  Engine e(*tiny().model, *tiny().backend);
  const int64_t pages = e.cache().free_pages();
  const int64_t a = e.submit(kPrompt, 10, opts(false));
  const int64_t k = e.submit(kPrompt, 10, opts(true));
  e.step();
  e.cancel(a);
  e.cancel(k);
  EXPECT_EQ(e.finish_reason(a), FinishReason::Cancelled);
  EXPECT_EQ(e.output(a).size(), 1u);
  EXPECT_LT(e.cache().free_pages(), pages);  // k is kept
  EXPECT_THROW(e.extend(a, {}, 1, opts(false)), Error);  // a holds no sequence
  e.release(k);
  EXPECT_EQ(e.cache().free_pages(), pages);
  EXPECT_THROW(e.release(e.submit(kPrompt, 1, opts(true))), Error);  // unfinished
}

}  // namespace
