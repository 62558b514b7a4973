// runtools login|logout|whoami, auth keys list|create|revoke|rotate,
// ssh-key add|list, oauth connect|status|disconnect.

#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <runtools/auth.hpp>
#include <runtools/errors.hpp>

#include "config_file.hpp"
#include "context.hpp"
#include "errors.hpp"
#include "prompt.hpp"

namespace rtcli {

namespace {

// ---- device flow (login --device, oauth connect --device)

void runDeviceFlow(Context& ctx, const std::string& provider) {
  auto& auth = ctx.client().auth;
  const auto flow = auth.startDeviceFlow(provider);
  std::cerr << "Open " << flow.verificationUri << " and enter the code " << flow.userCode << "\n"
            << "(or open " << flow.verificationUriComplete << ")\n"
            << "Waiting for approval..." << std::endl;
  runtools::PollDeviceFlowOptions options;
  options.cancellation = ctx.cancellation();
  const auto status = auth.pollDeviceFlow(flow, options);
  if (!status.connected()) {
    throw CommandError("device_flow_" + status.status,
                       "the device authorization ended " + status.status, kExitAuth);
  }
  nlohmann::json doc{{"provider", status.provider},
                     {"status", status.status},
                     {"displayName", status.displayName}};
  doc["connectionId"] = status.connectionId ? nlohmann::json(*status.connectionId) : nullptr;
  ctx.out().show(doc, [&] {
    ctx.out().message("connected " + provider + " as " + status.displayName +
                      (status.connectionId ? " (connection " + *status.connectionId + ")" : ""));
  });
}

// ---- login / logout / whoami

void addLogin(CLI::App& root, Context& ctx) {
  struct Args {
    bool fromStdin = false;
    bool device = false;
    std::string provider = "openai-codex";
  };
  auto args = std::make_shared<Args>();
  auto* cmd = root.add_subcommand("login", "Store an API key (read from stdin or a prompt)");
  cmd->add_flag("--stdin", args->fromStdin, "Read the key from stdin");
  cmd->add_flag("--device", args->device,
                "Run the OAuth device flow for --provider with the key already configured");
  cmd->add_option("--provider", args->provider, "Device-flow provider")->capture_default_str();
  cmd->footer(
      "The key is checked against the platform, then stored with the URLs in effect in a\n"
      "0600 file. The SDK's device flow connects a provider account to the identity of the\n"
      "configured key; it does not issue a RunTools key, so --device needs a key first.");
  cmd->callback([args, &ctx] {
    if (args->device) {
      runDeviceFlow(ctx, args->provider);
      return;
    }
    const auto key = readSecret("RunTools API key: ", args->fromStdin);
    runtools::RunTools rt(ctx.clientOptions(key.reveal()));
    runtools::CallOptions call;
    call.cancellation = ctx.cancellation();
    const auto me = rt.with(call).auth.me();
    const auto file = configFilePath();
    StoredConfig config = ctx.effectiveUrls();
    const StoredConfig previous = loadConfig(file);
    for (auto [url, old] : {std::pair{&config.apiUrl, &previous.apiUrl},
                            std::pair{&config.toolsUrl, &previous.toolsUrl},
                            std::pair{&config.authUrl, &previous.authUrl},
                            std::pair{&config.storageUrl, &previous.storageUrl}}) {
      if (!*url) *url = *old;
    }
    config.apiKey = key.reveal();
    saveConfig(file, config);
    ctx.out().show(
        nlohmann::json{{"loggedIn", true}, {"user", me.email}, {"configFile", file.string()}}, [&] {
          ctx.out().message("logged in as " + me.email + " (key stored in " + file.string() + ")");
        });
  });
}

void addLogout(CLI::App& root, Context& ctx) {
  auto* cmd = root.add_subcommand("logout", "Remove the stored credential");
  cmd->callback([&ctx] {
    const auto file = configFilePath();
    StoredConfig config = loadConfig(file);
    const bool had = config.apiKey.has_value();
    config.apiKey.reset();
    if (config.empty()) {
      removeConfig(file);
    } else if (had) {
      saveConfig(file, config);
    }
    ctx.out().show(nlohmann::json{{"loggedOut", had}, {"configFile", file.string()}}, [&] {
      ctx.out().message(had ? "logged out (credential removed from " + file.string() + ")"
                            : "no stored credential");
    });
  });
}

void addWhoami(CLI::App& root, Context& ctx) {
  auto* cmd = root.add_subcommand("whoami", "Show the user and organization of the credential");
  cmd->callback([&ctx] {
    auto& auth = ctx.client().auth;
    const auto user = auth.me();
    const auto org = auth.organization();
    ctx.out().show(nlohmann::json{{"user", user.raw}, {"organization", org.raw}}, [&] {
      const std::string name = user.firstName + (user.lastName.empty() ? "" : " " + user.lastName);
      ctx.out().fields({{"user", user.email + (name.empty() ? "" : " (" + name + ")")},
                        {"user id", user.id},
                        {"organization", org.name + " (" + org.slug + ")"},
                        {"organization id", org.id},
                        {"role", org.role.empty() ? "-" : org.role}});
    });
  });
}

// ---- API keys

struct NewKeyArgs {
  std::string keyFile;
  bool reveal = false;
};

void addNewKeyOptions(CLI::App& cmd, NewKeyArgs& args) {
  auto* file = cmd.add_option("--key-file", args.keyFile, "Write the new key to this file (0600)");
  cmd.add_flag("--reveal", args.reveal, "Print the new key on stdout instead")->excludes(file);
}

// The full key exists only in this answer: it goes to --key-file (0600) or,
// with --reveal, to stdout, and nowhere else.
void deliverKey(Context& ctx, const runtools::CreatedApiKey& created, const NewKeyArgs& args) {
  nlohmann::json doc{{"apiKey", created.apiKey.raw}};
  if (!args.keyFile.empty()) {
    writePrivateFile(args.keyFile, created.key.reveal() + "\n");
    doc["keyFile"] = args.keyFile;
  } else {
    doc["key"] = created.key.reveal();
  }
  ctx.out().show(doc, [&] {
    if (args.keyFile.empty()) {
      ctx.out().message(created.key.reveal());
    } else {
      ctx.out().message("key " + created.apiKey.id + " (" + created.apiKey.keyPrefix +
                        "...) written to " + args.keyFile);
    }
  });
}

void requireDestination(const NewKeyArgs& args) {
  if (args.keyFile.empty() && !args.reveal) {
    throw UsageError(
        "the new key is shown only once: pass --key-file FILE to store it, or --reveal");
  }
}

void addKeys(CLI::App& auth, Context& ctx) {
  CLI::App* keys = addGroup(auth, "keys", "API keys of the organization");

  keys->add_subcommand("list", "List active API keys")->callback([&ctx] {
    const auto list = ctx.client().auth.apiKeys.list();
    nlohmann::json doc = nlohmann::json::array();
    std::vector<Row> rows;
    for (const auto& k : list) {
      doc.push_back(k.raw);
      rows.push_back({k.id, k.name, k.keyPrefix + "...", listText(k.scopes), k.status,
                      timeText(k.expiresAt), timeText(k.lastUsedAt)});
    }
    ctx.out().show(doc, [&] {
      ctx.out().table({"ID", "NAME", "PREFIX", "SCOPES", "STATUS", "EXPIRES", "LAST USED"}, rows,
                      "No API keys.");
    });
  });

  struct CreateArgs : NewKeyArgs {
    std::string name, expiresIn;
    std::vector<std::string> scopes;
  };
  auto create = std::make_shared<CreateArgs>();
  auto* createCmd = keys->add_subcommand("create", "Create an API key");
  createCmd->add_option("NAME", create->name, "Key name")->required();
  createCmd->add_option("--scope", create->scopes, "Scope (repeatable; default full access)")
      ->allow_extra_args(false)
      ->take_all();
  createCmd->add_option("--expires-in", create->expiresIn, "30d, 90d, 6m, 1y or never");
  addNewKeyOptions(*createCmd, *create);
  createCmd->callback([create, &ctx] {
    requireDestination(*create);
    runtools::CreateApiKeyOptions options;
    options.name = create->name;
    options.scopes = create->scopes;
    if (!create->expiresIn.empty()) options.expiresIn = create->expiresIn;
    deliverKey(ctx, ctx.client().auth.apiKeys.create(options), *create);
  });

  auto revokeId = std::make_shared<std::string>();
  auto* revoke = keys->add_subcommand("revoke", "Revoke an API key");
  revoke->add_option("ID", *revokeId, "Key id")->required();
  revoke->callback([revokeId, &ctx] {
    ctx.client().auth.apiKeys.revoke(*revokeId);
    ctx.out().show(nlohmann::json{{"id", *revokeId}, {"revoked", true}},
                   [&] { ctx.out().message("revoked key " + *revokeId); });
  });

  struct RotateArgs : NewKeyArgs {
    std::string id, name;
  };
  auto rotate = std::make_shared<RotateArgs>();
  auto* rotateCmd = keys->add_subcommand("rotate", "Replace an API key with a new one");
  rotateCmd->add_option("ID", rotate->id, "Key id")->required();
  rotateCmd->add_option("--name", rotate->name, "Name of the new key");
  addNewKeyOptions(*rotateCmd, *rotate);
  rotateCmd->callback([rotate, &ctx] {
    requireDestination(*rotate);
    std::optional<std::string> name;
    if (!rotate->name.empty()) name = rotate->name;
    deliverKey(ctx, ctx.client().auth.apiKeys.rotate(rotate->id, name), *rotate);
  });
}

// ---- SSH keys

void addSshKeys(CLI::App& root, Context& ctx) {
  CLI::App* group = addGroup(root, "ssh-key", "SSH public keys for sandbox access");
  auto name = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto* add = group->add_subcommand("add", "Register an SSH public key");
  add->add_option("NAME", *name, "Key name")->required();
  add->add_option("--file", *file, "Public key file (e.g. ~/.ssh/id_ed25519.pub)")
      ->required()
      ->check(CLI::ExistingFile);
  add->callback([name, file, &ctx] {
    std::ifstream in(*file);
    std::stringstream text;
    text << in.rdbuf();
    std::string key = text.str();
    if (key.find("PRIVATE KEY") != std::string::npos) {
      throw UsageError(*file + " is a private key; give the .pub file");
    }
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r'))
      key.pop_back();
    const auto added = ctx.client().sshKeys.add(*name, key);
    ctx.out().show(added.raw, [&] {
      ctx.out().message("added " + added.name + " " + added.fingerprint + " (" + added.id + ")");
    });
  });
  group->add_subcommand("list", "List SSH keys")->callback([&ctx] {
    const auto keys = ctx.client().sshKeys.list();
    nlohmann::json doc = nlohmann::json::array();
    std::vector<Row> rows;
    for (const auto& k : keys) {
      doc.push_back(k.raw);
      rows.push_back({k.id, k.name, k.keyType, k.fingerprint, timeText(k.createdAt)});
    }
    ctx.out().show(doc, [&] {
      ctx.out().table({"ID", "NAME", "TYPE", "FINGERPRINT", "CREATED"}, rows, "No SSH keys.");
    });
  });
}

// ---- OAuth

void addOAuth(CLI::App& root, Context& ctx) {
  CLI::App* group = addGroup(root, "oauth", "OAuth connections to provider accounts");

  struct ConnectArgs {
    std::string provider;
    std::vector<std::string> scopes;
    bool device = false;
  };
  auto connect = std::make_shared<ConnectArgs>();
  auto* connectCmd = group->add_subcommand(
      "connect", "Connect an account: print the consent URL, or run the device flow");
  connectCmd->add_option("PROVIDER", connect->provider, "github, google, ..., openai-codex")
      ->required();
  connectCmd->add_option("--scope", connect->scopes, "Scope (repeatable)")
      ->allow_extra_args(false)
      ->take_all();
  connectCmd->add_flag("--device", connect->device, "Use the device-code flow");
  connectCmd->callback([connect, &ctx] {
    if (connect->device) {
      runDeviceFlow(ctx, connect->provider);
      return;
    }
    runtools::ConnectOptions options;
    options.scopes = connect->scopes;
    const auto r = ctx.client().auth.connect(connect->provider, options);
    nlohmann::json doc{{"provider", connect->provider}, {"authUrl", r.authUrl}};
    doc["expiresAt"] = r.expiresAt ? nlohmann::json(timeText(r.expiresAt)) : nullptr;
    ctx.out().show(doc, [&] { ctx.out().message("Open this URL to connect:\n" + r.authUrl); });
  });

  auto provider = std::make_shared<std::string>();
  auto* status = group->add_subcommand("status", "List connected accounts");
  status->add_option("PROVIDER", *provider, "Only this provider");
  status->callback([provider, &ctx] {
    nlohmann::json doc = nlohmann::json::array();
    std::vector<Row> rows;
    for (const auto& c : ctx.client().auth.listConnections()) {
      if (!provider->empty() && c.provider != *provider) continue;
      doc.push_back(c.raw);
      rows.push_back({c.id, c.provider, c.displayName, c.status, c.authType,
                      c.isDefault ? "yes" : "no", timeText(c.connectedAt)});
    }
    ctx.out().show(doc, [&] {
      ctx.out().table({"ID", "PROVIDER", "ACCOUNT", "STATUS", "TYPE", "DEFAULT", "CONNECTED"}, rows,
                      "No connections.");
    });
  });

  auto id = std::make_shared<std::string>();
  auto* disconnect = group->add_subcommand("disconnect", "Remove a connection");
  disconnect->add_option("CONNECTION_ID", *id, "Connection id (see oauth status)")->required();
  disconnect->callback([id, &ctx] {
    ctx.client().auth.disconnect(*id);
    ctx.out().show(nlohmann::json{{"id", *id}, {"disconnected", true}},
                   [&] { ctx.out().message("disconnected " + *id); });
  });
}

}  // namespace

void addAuthCommands(CLI::App& root, Context& ctx) {
  addLogin(root, ctx);
  addLogout(root, ctx);
  addWhoami(root, ctx);
  addKeys(*addGroup(root, "auth", "API keys"), ctx);
  addSshKeys(root, ctx);
  addOAuth(root, ctx);
}

}  // namespace rtcli
