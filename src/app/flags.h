#pragma once
// memcached-compatible command line -> Settings.
#include <string>

#include "server/settings.h"

namespace cachet::app {

enum class FlagsResult { kRun, kExitOk, kExitError };

// Parses argv like memcached 1.6.18 (same short and long options, messages and exit codes for
// bad values). Prints help/version itself for -h/-V. *exit_code is set for kExitError.
FlagsResult ParseFlags(int argc, char** argv, server::Settings* settings, int* exit_code);

}  // namespace cachet::app
