// placeholder: written by the provider helpers
#include "compute/provider.h"
namespace agent9::compute {
std::unique_ptr<Provider> MakeExecProvider(const ProviderConfig&) { return nullptr; }
}  // namespace agent9::compute
