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
#include "runtools/operation.hpp"
#include "runtools/options.hpp"
#include "runtools/page.hpp"
#include "runtools/raw_json.hpp"
#include "runtools/request.hpp"
#include "runtools/run.hpp"
#include "runtools/sandbox.hpp"
#include "runtools/secret_string.hpp"
#include "runtools/secrets.hpp"
#include "runtools/thread.hpp"
#include "runtools/tools.hpp"
#include "runtools/version.hpp"
#include "runtools/workspace.hpp"

/// @mainpage runtools-cpp API reference
///
/// The C++ SDK of the RunTools platform. Start with runtools::RunTools, the facade: it owns
/// the connection to every platform service and exposes the resource clients
/// (runtools::SandboxClient, runtools::WorkspaceClient, runtools::AgentClient,
/// runtools::ThreadClient, runtools::ToolsClient, runtools::SecretsClient,
/// runtools::AuthClient). Options are in runtools::ClientOptions and runtools::CallOptions;
/// every exception derives from runtools::Error. The C API is runtools.h.
///
/// @code
/// #include <runtools/runtools.hpp>
///
/// runtools::RunTools rt;  // reads RUNTOOLS_API_KEY
/// auto sandbox = rt.sandbox.create();
/// sandbox.waitForReady();
/// std::cout << sandbox.exec("uname -a").stdoutText;
/// sandbox.destroy();
/// @endcode
///
/// Only what these pages document is public; namespace runtools::internal and everything
/// under src/ are not (see docs/public-api.md in the repository). The HTTP contract behind
/// the calls is docs/wire-contract.md.
