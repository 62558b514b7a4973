#pragma once

/// @file
/// Umbrella header of the runtools-cpp SDK.

#include "runtools/activity.hpp"
#include "runtools/client.hpp"
#include "runtools/common.hpp"
#include "runtools/errors.hpp"
#include "runtools/http.hpp"
#include "runtools/options.hpp"
#include "runtools/page.hpp"
#include "runtools/sandbox.hpp"
#include "runtools/version.hpp"
#include "runtools/workspace.hpp"
