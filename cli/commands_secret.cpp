// runtools secret set|list|get|delete. Values come from stdin or a no-echo
// prompt; one is printed only with `get --reveal`.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <runtools/secrets.hpp>

#include "context.hpp"
#include "errors.hpp"
#include "prompt.hpp"

namespace rtcli {

namespace {

Row secretRow(const runtools::SecretInfo& s) {
  return {s.name, s.scope, s.category, s.orgWide ? "org" : "user", timeText(s.updatedAt)};
}

const Row kSecretHeaders = {"NAME", "SCOPE", "CATEGORY", "OWNER", "UPDATED"};

void addSet(CLI::App& group, Context& ctx) {
  struct Args {
    std::string name;
    std::optional<std::string> value;
    bool fromStdin = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = group.add_subcommand(
      "set", "Create a secret or rotate its value (read from stdin or a prompt)");
  cmd->add_option("NAME", args->name, "Secret name")->required();
  auto* value =
      cmd->add_option("VALUE", args->value, "The value (discouraged: it lands in shell history)");
  cmd->add_flag("--stdin", args->fromStdin, "Read the value from stdin")->excludes(value);
  cmd->callback([args, &ctx] {
    runtools::SecretString secret;
    if (args->value) {
      warn(
          "a value on the command line lands in shell history and the process list; "
          "prefer --stdin or the prompt");
      secret = runtools::SecretString(*args->value);
      std::fill(args->value->begin(), args->value->end(), '\0');
    } else {
      secret = readSecret("Value for " + args->name + ": ", args->fromStdin);
    }
    const auto r = ctx.client().secrets.set(args->name, secret.reveal());
    ctx.out().show(nlohmann::json{{"secret", r.secret.raw}, {"created", r.created}}, [&] {
      ctx.out().message(std::string(r.created ? "created" : "rotated") + " secret " +
                        r.secret.name);
    });
  });
}

void addList(CLI::App& group, Context& ctx) {
  auto* cmd = group.add_subcommand("list", "List secrets (names and metadata, never values)");
  cmd->callback([&ctx] {
    const auto secrets = ctx.client().secrets.list();
    nlohmann::json doc = nlohmann::json::array();
    std::vector<Row> rows;
    for (const auto& s : secrets) {
      doc.push_back(s.raw);
      rows.push_back(secretRow(s));
    }
    ctx.out().show(doc, [&] { ctx.out().table(kSecretHeaders, rows, "No secrets."); });
  });
}

void addGet(CLI::App& group, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto reveal = std::make_shared<bool>(false);
  auto* cmd = group.add_subcommand("get", "Show a secret's metadata, or its value with --reveal");
  cmd->add_option("NAME", *name, "Secret name")->required();
  cmd->add_flag("--reveal", *reveal, "Print the value itself on stdout");
  cmd->callback([name, reveal, &ctx] {
    if (*reveal) {
      const auto value = ctx.client().secrets.reveal(*name);
      if (ctx.global.json) {
        ctx.out().document(nlohmann::json{{"name", *name}, {"value", value.reveal()}});
      } else {
        writeFd(STDOUT_FILENO, value.reveal() + (::isatty(STDOUT_FILENO) ? "\n" : ""));
      }
      return;
    }
    const auto s = ctx.client().secrets.get(*name);
    ctx.out().show(s.raw, [&] {
      ctx.out().fields({{"name", s.name},
                        {"scope", s.scope},
                        {"category", s.category},
                        {"org-wide", s.orgWide ? "yes" : "no"},
                        {"description", s.description.empty() ? "-" : s.description},
                        {"created", timeText(s.createdAt)},
                        {"updated", timeText(s.updatedAt)}});
    });
  });
}

void addDelete(CLI::App& group, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = group.add_subcommand("delete", "Delete a secret");
  cmd->add_option("NAME", *name, "Secret name")->required();
  cmd->callback([name, &ctx] {
    ctx.client().secrets.remove(*name);
    ctx.out().show(nlohmann::json{{"name", *name}, {"deleted", true}},
                   [&] { ctx.out().message("deleted secret " + *name); });
  });
}

}  // namespace

void addSecretCommands(CLI::App& root, Context& ctx) {
  CLI::App* group = addGroup(root, "secret", "Secrets (values never shown unless --reveal)");
  addSet(*group, ctx);
  addList(*group, ctx);
  addGet(*group, ctx);
  addDelete(*group, ctx);
}

}  // namespace rtcli
