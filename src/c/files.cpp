// The C API's workspaces and workspace files: create and delete, upload and
// download with progress, list, write, remove.

#include "c/handles.hpp"

using runtools::c::clearOut;
using runtools::c::clientFor;
using runtools::c::guard;
using runtools::c::required;
using runtools::c::setOut;

namespace {

runtools::WorkspaceFiles filesFor(rt_client* client, const rt_call_options* call,
                                  const char* workspaceId) {
  return clientFor(client, call).workspace.files(required(workspaceId, "workspace_id"));
}

runtools::TransferOptions transferOptions(rt_progress_callback onProgress, void* userData) {
  runtools::TransferOptions options;
  if (onProgress != nullptr) {
    options.onProgress = [onProgress, userData](const runtools::TransferProgress& progress) {
      const std::int64_t total =
          progress.bytesTotal ? static_cast<std::int64_t>(*progress.bytesTotal) : -1;
      onProgress(progress.bytesDone, total, userData);
    };
  }
  return options;
}

}  // namespace

extern "C" {

rt_status rt_workspace_create(rt_client* client, const char* name, const rt_call_options* call,
                              char** workspace_json, rt_error** error) {
  clearOut(workspace_json);
  return guard(error, [&] {
    runtools::CreateWorkspaceOptions options;
    options.name = required(name, "name");
    setOut(workspace_json,
           runtools::c::dump(clientFor(client, call).workspace.create(options).raw));
  });
}

rt_status rt_workspace_delete(rt_client* client, const char* workspace_id, int force,
                              const rt_call_options* call, rt_error** error) {
  return guard(error, [&] {
    runtools::RemoveWorkspaceOptions options;
    options.force = force != 0;
    clientFor(client, call).workspace.remove(required(workspace_id, "workspace_id"), options);
  });
}

rt_status rt_files_upload(rt_client* client, const char* workspace_id, const char* local_file,
                          const char* remote_path, rt_progress_callback on_progress,
                          void* user_data, const rt_call_options* call, rt_error** error) {
  return guard(error, [&] {
    filesFor(client, call, workspace_id)
        .uploadFile(required(local_file, "local_file"), required(remote_path, "remote_path"),
                    transferOptions(on_progress, user_data));
  });
}

rt_status rt_files_download(rt_client* client, const char* workspace_id, const char* remote_path,
                            const char* local_file, rt_progress_callback on_progress,
                            void* user_data, const rt_call_options* call, rt_error** error) {
  return guard(error, [&] {
    filesFor(client, call, workspace_id)
        .downloadTo(required(remote_path, "remote_path"), required(local_file, "local_file"),
                    transferOptions(on_progress, user_data));
  });
}

rt_status rt_files_list(rt_client* client, const char* workspace_id, const char* folder,
                        const rt_call_options* call, char** entries_json, rt_error** error) {
  clearOut(entries_json);
  return guard(error, [&] {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& entry : filesFor(client, call, workspace_id).list(folder ? folder : "/"))
      entries.push_back(entry.raw);
    setOut(entries_json, runtools::c::dump(entries));
  });
}

rt_status rt_files_write(rt_client* client, const char* workspace_id, const char* path,
                         const char* data, size_t length, const rt_call_options* call,
                         rt_error** error) {
  return guard(error, [&] {
    if (data == nullptr && length > 0) runtools::c::invalid("data must not be NULL");
    filesFor(client, call, workspace_id)
        .write(required(path, "path"), std::string(data != nullptr ? data : "", length));
  });
}

rt_status rt_files_remove(rt_client* client, const char* workspace_id, const char* path,
                          const rt_call_options* call, rt_error** error) {
  return guard(error, [&] { filesFor(client, call, workspace_id).remove(required(path, "path")); });
}

}  // extern "C"
