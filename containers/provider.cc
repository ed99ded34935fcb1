#include "containers/provider.h"

namespace agent9::containers {

Json Usage::ToJson() const {
  return Json{{"cpu_ms", cpu_ms},
              {"wall_ms", wall_ms},
              {"memory_peak_bytes", memory_peak_bytes},
              {"output_bytes", output_bytes}};
}

}  // namespace agent9::containers
