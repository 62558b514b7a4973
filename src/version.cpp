#include "runtools/version.hpp"

namespace runtools {

const char* version() noexcept {
  return RUNTOOLS_VERSION_STRING;
}

}  // namespace runtools
