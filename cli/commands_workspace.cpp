// runtools workspace create|list|delete|ls|upload|download|rm

#include <filesystem>

#include <CLI/CLI.hpp>
#include <runtools/workspace.hpp>

#include "context.hpp"
#include "progress.hpp"

namespace rtcli {

namespace {

Row entryRow(const runtools::FileEntry& e) {
  return {e.isFolder() ? "folder" : e.type, e.isFolder() ? "-" : std::to_string(e.size),
          timeText(e.modifiedAt), e.id};
}

nlohmann::json raws(const std::vector<runtools::FileEntry>& entries) {
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& e : entries)
    doc.push_back(e.raw);
  return doc;
}

void addCreate(CLI::App& group, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = group.add_subcommand("create", "Create a workspace");
  cmd->add_option("NAME", *name, "Workspace name")->required();
  cmd->callback([name, &ctx] {
    runtools::CreateWorkspaceOptions options;
    options.name = *name;
    const auto ws = ctx.client().workspace.create(options);
    ctx.out().show(ws.raw, [&] { ctx.out().message("workspace " + ws.id + " created"); });
  });
}

void addList(CLI::App& group, Context& ctx) {
  auto* cmd = group.add_subcommand("list", "List workspaces");
  cmd->callback([&ctx] {
    const auto list = ctx.client().workspace.list();
    nlohmann::json doc = nlohmann::json::array();
    std::vector<Row> rows;
    for (const auto& ws : list.workspaces) {
      doc.push_back(ws.raw);
      rows.push_back({ws.id, ws.name, bytesText(static_cast<std::uint64_t>(ws.sizeBytes)),
                      timeText(ws.updatedAt)});
    }
    ctx.out().show(doc, [&] {
      ctx.out().table({"ID", "NAME", "SIZE", "UPDATED"}, rows, "No workspaces.");
    });
  });
}

void addDelete(CLI::App& group, Context& ctx) {
  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto* cmd = group.add_subcommand("delete", "Delete a workspace and its files");
  cmd->add_option("ID", *id, "Workspace id")->required();
  cmd->add_flag("--force", *force, "Delete even while sandboxes or agents use it");
  cmd->callback([id, force, &ctx] {
    runtools::RemoveWorkspaceOptions options;
    options.force = *force;
    ctx.client().workspace.remove(*id, options);
    ctx.out().show(nlohmann::json{{"id", *id}, {"deleted", true}},
                   [&] { ctx.out().message("workspace " + *id + " deleted"); });
  });
}

void addLs(CLI::App& group, Context& ctx) {
  auto id = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>("/");
  auto* cmd = group.add_subcommand("ls", "List the files of a workspace folder");
  cmd->add_option("ID", *id, "Workspace id")->required();
  cmd->add_option("PATH", *path, "Folder")->capture_default_str();
  cmd->callback([id, path, &ctx] {
    const auto entries = ctx.client().workspace.files(*id).list(*path);
    std::vector<Row> rows;
    for (const auto& e : entries)
      rows.push_back(entryRow(e));
    ctx.out().show(raws(entries), [&] {
      ctx.out().table({"TYPE", "SIZE", "MODIFIED", "PATH"}, rows, "Empty folder.");
    });
  });
}

void addUpload(CLI::App& group, Context& ctx) {
  auto id = std::make_shared<std::string>();
  auto local = std::make_shared<std::string>();
  auto remote = std::make_shared<std::string>();
  auto* cmd = group.add_subcommand("upload", "Upload a local file (progress bar on a terminal)");
  cmd->add_option("ID", *id, "Workspace id")->required();
  cmd->add_option("LOCAL", *local, "Local file")->required();
  cmd->add_option("REMOTE", *remote, "Path in the workspace")->required();
  cmd->callback([id, local, remote, &ctx] {
    ProgressBar bar("upload " + std::filesystem::path(*local).filename().string(),
                    progressWanted(ctx.global.json));
    const auto entry =
        ctx.client().workspace.files(*id).uploadFile(*local, *remote, bar.transferOptions());
    bar.finish();
    ctx.out().show(entry.raw, [&] {
      ctx.out().message("uploaded " + *local + " to " + entry.id + " (" +
                        bytesText(static_cast<std::uint64_t>(entry.size)) + ")");
    });
  });
}

void addDownload(CLI::App& group, Context& ctx) {
  auto id = std::make_shared<std::string>();
  auto remote = std::make_shared<std::string>();
  auto local = std::make_shared<std::string>();
  auto* cmd =
      group.add_subcommand("download", "Download a file to a local path (progress on a terminal)");
  cmd->add_option("ID", *id, "Workspace id")->required();
  cmd->add_option("REMOTE", *remote, "Path in the workspace")->required();
  cmd->add_option("LOCAL", *local, "Local file")->required();
  cmd->callback([id, remote, local, &ctx] {
    ProgressBar bar("download " + std::filesystem::path(*remote).filename().string(),
                    progressWanted(ctx.global.json));
    ctx.client().workspace.files(*id).downloadTo(*remote, *local, bar.transferOptions());
    bar.finish();
    const auto size = std::filesystem::file_size(*local);
    ctx.out().show(nlohmann::json{{"path", *remote}, {"localFile", *local}, {"bytes", size}}, [&] {
      ctx.out().message("downloaded " + *remote + " to " + *local + " (" + bytesText(size) + ")");
    });
  });
}

void addRm(CLI::App& group, Context& ctx) {
  auto id = std::make_shared<std::string>();
  auto paths = std::make_shared<std::vector<std::string>>();
  auto* cmd = group.add_subcommand("rm", "Delete files or folders (recursively)");
  cmd->add_option("ID", *id, "Workspace id")->required();
  cmd->add_option("PATH", *paths, "Paths to delete")->required();
  cmd->callback([id, paths, &ctx] {
    const auto files = ctx.client().workspace.files(*id);
    std::int64_t deleted = 0;
    for (std::size_t i = 0; i < paths->size(); i += runtools::kMaxBatchIds) {
      const auto end = std::min(paths->size(), i + runtools::kMaxBatchIds);
      deleted += files.removeMany({paths->begin() + static_cast<std::ptrdiff_t>(i),
                                   paths->begin() + static_cast<std::ptrdiff_t>(end)});
    }
    ctx.out().show(nlohmann::json{{"deleted", deleted}},
                   [&] { ctx.out().message("deleted " + std::to_string(deleted) + " entries"); });
  });
}

}  // namespace

void addWorkspaceCommands(CLI::App& root, Context& ctx) {
  CLI::App* group =
      addGroup(root, "workspace", "Workspaces: persistent files shared with sandboxes");
  addCreate(*group, ctx);
  addList(*group, ctx);
  addDelete(*group, ctx);
  addLs(*group, ctx);
  addUpload(*group, ctx);
  addDownload(*group, ctx);
  addRm(*group, ctx);
}

}  // namespace rtcli
