#pragma once

/// @file
/// Umbrella header of the runtools-cpp SDK.

#include "runtools/activity.hpp"
#include "runtools/agent.hpp"
#include "runtools/auth.hpp"
#include "runtools/cancellation.hpp"
#include "runtools/client.hpp"
#include "runtools/common.hpp"
#include "runtools/errors.hpp"
#include "runtools/http.hpp"
#include "runtools/options.hpp"
#include "runtools/page.hpp"
#include "runtools/run.hpp"
#include "runtools/sandbox.hpp"
#include "runtools/secret_string.hpp"
#include "runtools/secrets.hpp"
#include "runtools/thread.hpp"
#include "runtools/tools.hpp"
#include "runtools/version.hpp"
#include "runtools/workspace.hpp"
