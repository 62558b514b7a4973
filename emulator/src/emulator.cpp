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

#include "agent_routes.hpp"
#include "agent_store.hpp"
#include "attachment_store.hpp"
#include "auth.hpp"
#include "control_routes.hpp"
#include "fault_injector.hpp"
#include "fs_util.hpp"
#include "http_server.hpp"
#include "idempotency_store.hpp"
#include "identity_routes.hpp"
#include "ids.hpp"
#include "json_util.hpp"
#include "oauth_routes.hpp"
#include "oauth_store.hpp"
#include "proxy_routes.hpp"
#include "rate_limiter.hpp"
#include "request_log.hpp"
#include "router.hpp"
#include "run_engine.hpp"
#include "sandbox_routes.hpp"
#include "sandbox_store.hpp"
#include "secret_store.hpp"
#include "ssh_key_store.hpp"
#include "thread_store.hpp"
#include "time_util.hpp"
#include "tool_hub.hpp"
#include "tool_routes.hpp"
#include "workspace_routes.hpp"
#include "workspace_store.hpp"

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
  // httplib writes to sockets with plain send(): a client that hangs up mid-response would
  // raise SIGPIPE and kill the process. Ignore it unless the application chose a handler.
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
  try {
    d.prepareStateDir();
    LifecycleDelays delays{d.config.createDelay, d.config.pauseDelay, d.config.resumeDelay};
    // Absolute: mount symlinks point into the workspaces directory.
    const fs::path stateRoot = fs::absolute(d.stateDir);
    std::optional<fs::path> stateFile;
    std::optional<fs::path> workspacesFile;
    std::optional<fs::path> agentsFile;
    std::optional<fs::path> threadsRoot;
    std::optional<fs::path> sshKeysFile;
    std::optional<fs::path> secretsFile;
    std::optional<fs::path> oauthFile;
    std::optional<fs::path> toolsFile;
    if (!d.ownsStateDir) {
      stateFile = stateRoot / kStateFile;
      workspacesFile = stateRoot / kWorkspacesFile;
      agentsFile = stateRoot / kAgentsFile;
      threadsRoot = stateRoot / "threads";
      sshKeysFile = stateRoot / kSshKeysFile;
      secretsFile = stateRoot / kSecretsFile;
      oauthFile = stateRoot / kOAuthFile;
      toolsFile = stateRoot / kToolsFile;
    }
    const Clock& clock = d.clock;
    d.workspaces =
        std::make_unique<WorkspaceStore>(stateRoot / "workspaces", workspacesFile, clock);
    d.workspaces->restore();
    d.store = std::make_unique<SandboxStore>(stateRoot / "sandboxes", delays, stateFile,
                                             stateRoot / "workspaces", clock);
    d.store->restore();
    d.agents = std::make_unique<AgentStore>(agentsFile, clock);
    d.agents->restore();
    d.threads = std::make_unique<ThreadStore>(threadsRoot, clock);
    d.threads->restore();
    d.attachments =
        std::make_unique<AttachmentStore>(stateRoot / "attachments", !d.ownsStateDir, clock);
    d.attachments->restore();
    d.runs = std::make_unique<RunManager>(clock);
    d.sshKeys = std::make_unique<SshKeyStore>(sshKeysFile, clock);
    d.sshKeys->restore();
    d.secrets = std::make_unique<SecretStore>(secretsFile, clock);
    d.secrets->restore();
    d.oauth = std::make_unique<OAuthStore>(oauthFile, clock);
    d.oauth->restore();
    if (d.config.deviceAutoApprove)
      d.oauth->setDeviceAutoApprove(d.config.deviceAutoApprove->count());
    d.tools = std::make_unique<ToolHub>(toolsFile, *d.secrets, *d.oauth);
    d.tools->restore();

    Impl* self = &d;
    SandboxRoutesConfig sandboxConfig;
    sandboxConfig.store = d.store.get();
    sandboxConfig.pathEnv = d.pathEnv;
    sandboxConfig.baseUrl = [self] {
      return "http://" + formatHost(self->config.host) + ":" + std::to_string(self->port);
    };
    WorkspaceStore* workspaces = d.workspaces.get();
    sandboxConfig.workspaceExists = [workspaces](const std::string& orgId, const std::string& id) {
      return workspaces->exists(orgId, id);
    };
    addSandboxRoutes(d.router, sandboxConfig);
    d.engine = std::make_unique<RunEngine>(*d.threads, *d.runs, sandboxToolRunner(sandboxConfig),
                                           d.config.streamDelay);
    AgentRoutesConfig agentConfig;
    agentConfig.agents = d.agents.get();
    agentConfig.threads = d.threads.get();
    agentConfig.runs = d.runs.get();
    agentConfig.engine = d.engine.get();
    agentConfig.attachments = d.attachments.get();
    agentConfig.sandboxes = d.store.get();
    agentConfig.baseUrl = sandboxConfig.baseUrl;
    addAgentRoutes(d.router, agentConfig);
    addWorkspaceRoutes(d.router, WorkspaceRoutesConfig{workspaces, d.store.get()});
    IdentityRoutesConfig identityConfig;
    identityConfig.keys = &d.keys;
    identityConfig.sshKeys = d.sshKeys.get();
    identityConfig.clock = &d.clock;
    identityConfig.clockAdvanced = [self] { self->persistClock(); };
    addIdentityRoutes(d.router, identityConfig);
    OAuthRoutesConfig oauthConfig;
    oauthConfig.store = d.oauth.get();
    oauthConfig.baseUrl = sandboxConfig.baseUrl;
    oauthConfig.deviceInterval = d.config.deviceInterval;
    addOAuthRoutes(d.router, oauthConfig);
    addToolRoutes(d.router, ToolRoutesConfig{d.tools.get(), d.secrets.get()});
    ControlRoutesConfig controlConfig;
    controlConfig.reset = [self] {
      self->runs->reset();
      self->agents->reset();
      self->threads->reset();
      self->attachments->reset();
      self->store->reset();  // removes the mount symlinks, never their targets
      self->workspaces->reset();
      self->keys.reset();  // keys made through /v1/api-keys
      self->sshKeys->reset();
      self->secrets->reset();
      self->oauth->reset();
      self->tools->reset();
      self->faults.clear();
      self->idempotency.reset();
      self->requestLog.clear();
    };
    addControlRoutes(d.router, controlConfig);
    addFaultRoutes(d.router, d.faults);
    addRequestLogRoutes(d.router, d.requestLog);
    addProxyRoutes(d.router, d.store.get());

    d.http = std::make_unique<HttpFrontend>(
        d.router, FrontendServices{d.keys, d.limiter, d.faults, d.idempotency, d.requestLog},
        d.config.quiet);
    d.port = d.http->bind(d.config.host, d.config.port);
    d.http->start();
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
