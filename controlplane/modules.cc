#include "controlplane/modules.h"

#include "compute/compute_module.h"
#include "containers/containers_module.h"
#include "identity/identity_module.h"
#include "nostr/nostr_module.h"

namespace agent9 {

void AddModules(Modules& modules) {
  auto* identity = modules.Add(std::make_unique<identity::IdentityModule>());
  modules.Add(std::make_unique<nostr::NostrModule>(identity));
  modules.Add(std::make_unique<compute::ComputeModule>());
  modules.Add(std::make_unique<containers::ContainersModule>(identity));
}

}  // namespace agent9
