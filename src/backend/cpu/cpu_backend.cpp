// Placeholder until the threaded backend lands: the ref ops under the name "cpu".
#include "backend/backend.h"

namespace schwarm {

std::unique_ptr<Backend> make_cpu_backend(int /*n_threads*/) { return make_ref_backend(); }

}  // namespace schwarm
