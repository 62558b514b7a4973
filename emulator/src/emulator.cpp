#include "rtemu/emulator.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "control/control_routes.hpp"
#include "control/fault_injector.hpp"
#include "control/idempotency_store.hpp"
#include "control/request_log.hpp"
#include "http/http_server.hpp"
#include "http/rate_limiter.hpp"
#include "http/router.hpp"
#include "routes/agent_routes.hpp"
#include "routes/identity_routes.hpp"
#include "routes/oauth_routes.hpp"
#include "routes/proxy_routes.hpp"
#include "routes/sandbox_routes.hpp"
#include "routes/tool_routes.hpp"
#include "routes/workspace_routes.hpp"
#include "stores/agent_store.hpp"
#include "stores/attachment_store.hpp"
#include "stores/auth.hpp"
#include "stores/oauth_store.hpp"
#include "stores/run_engine.hpp"
#include "stores/sandbox_store.hpp"
#include "stores/secret_store.hpp"
#include "stores/ssh_key_store.hpp"
#include "stores/thread_store.hpp"
#include "stores/tool_hub.hpp"
#include "stores/workspace_store.hpp"
#include "util/fs_util.hpp"
#include "util/ids.hpp"
#include "util/json_util.hpp"
#include "util/time_util.hpp"

namespace rtemu {

namespace fs = std::filesystem;

namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr char kOrgFile[] = "organization.json";
constexpr char kStateFile[] = "sandboxes.json";
constexpr char kWorkspacesFile[] = "workspaces.json";
constexpr char kAgentsFile[] = "agents.json";
constexpr char kIdentityFile[] = "identity.json";
constexpr char kSshKeysFile[] = "ssh_keys.json";
constexpr char kSecretsFile[] = "secrets.json";
constexpr char kOAuthFile[] = "oauth.json";
constexpr char kToolsFile[] = "tools.json";
constexpr char kClockFile[] = "clock.json";

std::string makeTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/runtools-emulator-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    throw std::runtime_error("cannot create a temporary state directory");
  }
  return pattern;
}

// The default organization's id lives in the state dir so that a restarted emulator (with a
// possibly different key) still sees the sandboxes it created.
std::string loadOrCreateDefaultOrg(const fs::path& stateDir, const std::string& fresh) {
  const fs::path file = stateDir / kOrgFile;
  std::ifstream in(file);
  if (in) {
    const Json saved = Json::parse(in, nullptr, false);
    if (saved.is_object() && saved.contains("defaultOrgId") && saved["defaultOrgId"].is_string()) {
      return saved["defaultOrgId"].get<std::string>();
    }
  }
  writeFileAtomically(file, dumpJson(Json{{"defaultOrgId", fresh}}), false);
  return fresh;
}

// httplib writes to sockets with plain send(): a client that hangs up mid-response would raise
// SIGPIPE and kill the process. Ignore it unless the application chose a handler.
void ignoreSigpipeByDefault() {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
}

// The state files of a state dir the emulator keeps (none for a temporary one).
struct StateFiles {
  std::optional<fs::path> sandboxes;
  std::optional<fs::path> workspaces;
  std::optional<fs::path> agents;
  std::optional<fs::path> threadsRoot;
  std::optional<fs::path> sshKeys;
  std::optional<fs::path> secrets;
  std::optional<fs::path> oauth;
  std::optional<fs::path> tools;
};

StateFiles stateFilesIn(const fs::path& stateRoot, bool durable) {
  if (!durable) return StateFiles{};
  return StateFiles{stateRoot / kStateFile, stateRoot / kWorkspacesFile, stateRoot / kAgentsFile,
                    stateRoot / "threads",  stateRoot / kSshKeysFile,    stateRoot / kSecretsFile,
                    stateRoot / kOAuthFile, stateRoot / kToolsFile};
}

std::string formatHost(const std::string& host) {
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "[::1]";
  if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]";
  return host;
}

}  // namespace

struct Emulator::Impl {
  explicit Impl(Config c)
      : config(std::move(c)),
        keys(clock),
        limiter(config.rateLimitRpm, clock),
        faults(clock),
        idempotency(clock),
        requestLog(clock) {
    const char* path = std::getenv("PATH");
    pathEnv = path && *path ? path : kDefaultPath;
    apiKey = config.apiKey.empty() ? newApiKey() : config.apiKey;
    keys.addStartupKey(apiKey);
  }

  Config config;
  std::string apiKey;
  std::string stateDir;
  bool ownsStateDir = false;
  std::string pathEnv;

  Clock clock;  // before everything that reads it
  KeyStore keys;
  RateLimiter limiter;
  FaultInjector faults;
  IdempotencyStore idempotency;
  RequestLog requestLog;
  std::unique_ptr<SshKeyStore> sshKeys;
  std::unique_ptr<SecretStore> secrets;
  std::unique_ptr<OAuthStore> oauth;
  std::unique_ptr<ToolHub> tools;
  std::unique_ptr<SandboxStore> store;
  std::unique_ptr<WorkspaceStore> workspaces;
  std::unique_ptr<AgentStore> agents;
  std::unique_ptr<ThreadStore> threads;
  std::unique_ptr<AttachmentStore> attachments;
  std::unique_ptr<RunManager> runs;
  std::unique_ptr<RunEngine> engine;
  Router router;
  std::unique_ptr<HttpFrontend> http;
  int port = -1;

  std::mutex lifecycleMutex;
  std::mutex clockFileMutex;
  bool started = false;
  bool stopped = false;

  void prepareStateDir() {
    if (config.stateDir.empty()) {
      stateDir = makeTempDir();
      ownsStateDir = true;
    } else {
      stateDir = config.stateDir;
      std::error_code ec;
      fs::create_directories(stateDir, ec);
      if (ec || !fs::is_directory(stateDir)) {
        throw std::runtime_error("cannot create state directory " + stateDir);
      }
      keys.setDefaultOrgId(loadOrCreateDefaultOrg(stateDir, keys.defaultOrgId()));
      const Json saved = readJsonFile(fs::path(stateDir) / kClockFile);
      if (saved.is_object() && saved.contains("offsetMs") &&
          saved["offsetMs"].is_number_integer()) {
        clock.setOffsetMs(saved["offsetMs"].get<std::int64_t>());
      }
      keys.restore(fs::path(stateDir) / kIdentityFile);
    }
    for (const char* sub : {"sandboxes", "workspaces", "threads", "attachments"}) {
      std::error_code ec;
      fs::create_directories(fs::path(stateDir) / sub, ec);
      if (ec) throw std::runtime_error("cannot create " + stateDir + "/" + sub);
    }
  }

  // Creates every store and reloads what a kept state dir holds.
  void openStores() {
    // Absolute: mount symlinks point into the workspaces directory.
    const fs::path stateRoot = fs::absolute(stateDir);
    const StateFiles files = stateFilesIn(stateRoot, !ownsStateDir);
    const LifecycleDelays delays{config.createDelay, config.pauseDelay, config.resumeDelay};
    workspaces =
        std::make_unique<WorkspaceStore>(stateRoot / "workspaces", files.workspaces, clock);
    workspaces->restore();
    store = std::make_unique<SandboxStore>(stateRoot / "sandboxes", delays, files.sandboxes,
                                           stateRoot / "workspaces", clock);
    store->restore();
    agents = std::make_unique<AgentStore>(files.agents, clock);
    agents->restore();
    threads = std::make_unique<ThreadStore>(files.threadsRoot, clock);
    threads->restore();
    attachments =
        std::make_unique<AttachmentStore>(stateRoot / "attachments", !ownsStateDir, clock);
    attachments->restore();
    runs = std::make_unique<RunManager>(clock);
    sshKeys = std::make_unique<SshKeyStore>(files.sshKeys, clock);
    sshKeys->restore();
    secrets = std::make_unique<SecretStore>(files.secrets, clock);
    secrets->restore();
    oauth = std::make_unique<OAuthStore>(files.oauth, clock);
    oauth->restore();
    if (config.deviceAutoApprove) oauth->setDeviceAutoApprove(config.deviceAutoApprove->count());
    tools = std::make_unique<ToolHub>(files.tools, *secrets, *oauth);
    tools->restore();
  }

  std::string baseUrl() const {
    return "http://" + formatHost(config.host) + ":" + std::to_string(port);
  }

  // The routes of every resource, then the control plane's.
  void addRoutes() {
    addResourceRoutes();
    addControlPlaneRoutes();
  }

  void addResourceRoutes() {
    Impl* self = this;
    SandboxRoutesConfig sandboxConfig;
    sandboxConfig.store = store.get();
    sandboxConfig.pathEnv = pathEnv;
    sandboxConfig.baseUrl = [self] { return self->baseUrl(); };
    WorkspaceStore* workspaceStore = workspaces.get();
    sandboxConfig.workspaceExists = [workspaceStore](const std::string& orgId,
                                                     const std::string& id) {
      return workspaceStore->exists(orgId, id);
    };
    addSandboxRoutes(router, sandboxConfig);
    engine = std::make_unique<RunEngine>(*threads, *runs, sandboxToolRunner(sandboxConfig),
                                         config.streamDelay);
    AgentRoutesConfig agentConfig;
    agentConfig.agents = agents.get();
    agentConfig.threads = threads.get();
    agentConfig.runs = runs.get();
    agentConfig.engine = engine.get();
    agentConfig.attachments = attachments.get();
    agentConfig.sandboxes = store.get();
    agentConfig.baseUrl = sandboxConfig.baseUrl;
    addAgentRoutes(router, agentConfig);
    addWorkspaceRoutes(router, WorkspaceRoutesConfig{workspaceStore, store.get()});
    IdentityRoutesConfig identityConfig;
    identityConfig.keys = &keys;
    identityConfig.sshKeys = sshKeys.get();
    identityConfig.clock = &clock;
    identityConfig.clockAdvanced = [self] { self->persistClock(); };
    addIdentityRoutes(router, identityConfig);
    OAuthRoutesConfig oauthConfig;
    oauthConfig.store = oauth.get();
    oauthConfig.baseUrl = sandboxConfig.baseUrl;
    oauthConfig.deviceInterval = config.deviceInterval;
    addOAuthRoutes(router, oauthConfig);
    addToolRoutes(router, ToolRoutesConfig{tools.get(), secrets.get()});
  }

  void addControlPlaneRoutes() {
    Impl* self = this;
    ControlRoutesConfig controlConfig;
    controlConfig.reset = [self] { self->resetAll(); };
    addControlRoutes(router, controlConfig);
    addFaultRoutes(router, faults);
    addRequestLogRoutes(router, requestLog);
    addProxyRoutes(router, store.get());
  }

  // POST /_emu/reset: forgets every resource, fault, kept answer and logged request.
  void resetAll() {
    runs->reset();
    agents->reset();
    threads->reset();
    attachments->reset();
    store->reset();  // removes the mount symlinks, never their targets
    workspaces->reset();
    keys.reset();  // keys made through /v1/api-keys
    sshKeys->reset();
    secrets->reset();
    oauth->reset();
    tools->reset();
    faults.clear();
    idempotency.reset();
    requestLog.clear();
  }

  void startHttp() {
    http = std::make_unique<HttpFrontend>(
        router, FrontendServices{keys, limiter, faults, idempotency, requestLog}, config.quiet);
    port = http->bind(config.host, config.port);
    http->start();
  }

  // The clock's offset survives restarts (timestamps never jump back).
  void persistClock() {
    if (ownsStateDir || stateDir.empty()) return;
    std::lock_guard<std::mutex> lock(clockFileMutex);
    writeFileAtomically(fs::path(stateDir) / kClockFile,
                        dumpJson(Json{{"offsetMs", clock.offsetMs()}}), true);
  }

  void removeOwnedStateDir() {
    if (!ownsStateDir) return;
    std::error_code ec;
    fs::remove_all(stateDir, ec);
    ownsStateDir = false;
  }
};

Emulator::Emulator(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Emulator::~Emulator() {
  stop();
}

void Emulator::start() {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.lifecycleMutex);
  if (d.started) throw std::logic_error("Emulator::start() called twice");
  d.started = true;
  ignoreSigpipeByDefault();
  try {
    d.prepareStateDir();
    d.openStores();
    d.addRoutes();
    d.startHttp();
  } catch (...) {
    d.http.reset();
    if (d.runs) d.runs->shutdown();
    if (d.store) d.store->shutdown();
    d.removeOwnedStateDir();
    d.stopped = true;
    throw;
  }
}

void Emulator::stop() {
  Impl& d = *impl_;
  std::lock_guard<std::mutex> lock(d.lifecycleMutex);
  if (!d.started || d.stopped) return;
  d.stopped = true;
  // Stop runs, kill commands and end injected delays first so that streaming handlers and
  // handlers blocked in exec return, then stop serving.
  d.faults.shutdown();
  if (d.runs) d.runs->shutdown();
  if (d.store) d.store->shutdown();
  if (d.http) d.http->stop();
  if (d.store) d.store->shutdown();  // anything spawned while the server was draining
  d.removeOwnedStateDir();
}

int Emulator::port() const {
  return impl_->port;
}

std::string Emulator::baseUrl() const {
  return "http://" + formatHost(impl_->config.host) + ":" + std::to_string(impl_->port);
}

const std::string& Emulator::apiKey() const {
  return impl_->apiKey;
}

const std::string& Emulator::stateDir() const {
  return impl_->stateDir;
}

std::string Emulator::mintKey(const std::string& org, const std::vector<std::string>& scopes) {
  return impl_->keys.mint(org, "", std::nullopt, scopes, std::nullopt).key;
}

std::string Emulator::mintKeyFor(const std::string& org, const std::string& user,
                                 const std::string& role, const std::vector<std::string>& scopes) {
  return impl_->keys
      .mint(org, user, role.empty() ? std::nullopt : std::optional<std::string>(role), scopes,
            std::nullopt)
      .key;
}

void Emulator::advanceClock(std::chrono::milliseconds by) {
  if (by.count() <= 0) return;
  impl_->clock.advance(by.count());
  impl_->persistClock();
}

std::string Emulator::defaultOrgId() const {
  return impl_->keys.defaultOrgId();
}

}  // namespace rtemu
