#include "controlplane/modules.h"

#include "identity/identity_module.h"

namespace agent9 {

void AddModules(Modules& modules) { modules.Add(std::make_unique<identity::IdentityModule>()); }

}  // namespace agent9
