// The one place the runtime learns which domain modules exist (fs/module.h). Adding a module
// is its own top-level folder plus one line in AddModules (docs/MODULES.md).
#pragma once

#include "fs/module.h"

namespace agent9 {

// Adds every domain module, in dependency order, to modules.
void AddModules(Modules& modules);

}  // namespace agent9
