// placeholder: written by the provider helpers (temporary empty routes so the fake links).
#include "tests/fakes/fake_llm_internal.h"
namespace agent9::testing {
void AddAnthropicRoutes(httplib::Server&, FakeLlm::Impl&) {}
}  // namespace agent9::testing
