// runtools tool search|install|list|exec

#include <CLI/CLI.hpp>
#include <runtools/tools.hpp>

#include "args.hpp"
#include "context.hpp"
#include "errors.hpp"

namespace rtcli {

namespace {

void showTools(const Context& ctx, const std::vector<runtools::Tool>& tools) {
  nlohmann::json doc = nlohmann::json::array();
  std::vector<Row> rows;
  for (const auto& t : tools) {
    doc.push_back(t.raw);
    std::vector<std::string> actions;
    for (const auto& a : t.actions)
      actions.push_back(a.name);
    rows.push_back({t.slug, t.name, t.category, t.installed ? "yes" : "no", t.credentialMode,
                    listText(actions)});
  }
  ctx.out().show(doc, [&] {
    ctx.out().table({"SLUG", "NAME", "CATEGORY", "INSTALLED", "CREDENTIALS", "ACTIONS"}, rows,
                    "No tools.");
  });
}

void addSearch(CLI::App& group, Context& ctx) {
  auto query = std::make_shared<std::string>();
  auto* cmd = group.add_subcommand("search", "Search the Tool Hub");
  cmd->add_option("QUERY", *query, "Words to look for")->required();
  cmd->callback([query, &ctx] { showTools(ctx, ctx.client().tools.search(*query)); });
}

void addList(CLI::App& group, Context& ctx) {
  auto installed = std::make_shared<bool>(false);
  auto* cmd = group.add_subcommand("list", "List the Tool Hub's tools");
  cmd->add_flag("--installed", *installed, "Only installed tools");
  cmd->callback([installed, &ctx] {
    runtools::ToolListOptions options;
    if (*installed) options.installed = true;
    showTools(ctx, ctx.client().tools.list(options));
  });
}

void addInstall(CLI::App& group, Context& ctx) {
  auto slug = std::make_shared<std::string>();
  auto* cmd = group.add_subcommand("install", "Install a tool");
  cmd->add_option("SLUG", *slug, "Tool slug")->required();
  cmd->callback([slug, &ctx] {
    const auto r = ctx.client().tools.install(*slug);
    nlohmann::json doc{{"slug", r.slug},
                       {"installed", r.installed},
                       {"credentialsRequired", r.credentialsRequired},
                       {"credentialMode", r.credentialMode},
                       {"requiredCredentialFields", r.requiredCredentialFields}};
    ctx.out().show(doc, [&] {
      ctx.out().message("installed " + r.slug +
                        (r.credentialsRequired
                             ? " (needs credentials: " + listText(r.requiredCredentialFields) + ")"
                             : ""));
    });
  });
}

void addExec(CLI::App& group, Context& ctx) {
  struct Args {
    std::string slug, action, params = "{}";
  };
  auto args = std::make_shared<Args>();
  auto* cmd = group.add_subcommand("exec", "Run an action of an installed tool");
  cmd->add_option("SLUG", args->slug, "Tool slug")->required();
  cmd->add_option("--action", args->action, "Action name")->required();
  cmd->add_option("--params", args->params, "Parameters as a JSON object")->capture_default_str();
  cmd->callback([args, &ctx] {
    runtools::ExecuteToolOptions options;
    options.action = args->action;
    options.params = parseJsonObject(args->params, "--params");
    const auto r = ctx.client().tools.execute(args->slug, options);
    if (!r.success) {
      const auto error = r.error.value_or(runtools::ToolError{"tool_failed", "the tool failed", 0});
      throw CommandError(error.code, error.message);
    }
    ctx.out().show(r.raw, [&] {
      ctx.out().message(r.result.is_string() ? r.result.get<std::string>() : r.result.dump(2));
    });
  });
}

}  // namespace

void addToolCommands(CLI::App& root, Context& ctx) {
  CLI::App* group = addGroup(root, "tool", "Tool Hub: find, install and run tools");
  addSearch(*group, ctx);
  addInstall(*group, ctx);
  addList(*group, ctx);
  addExec(*group, ctx);
}

}  // namespace rtcli
