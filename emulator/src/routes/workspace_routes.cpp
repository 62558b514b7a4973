#include "routes/workspace_routes.hpp"

#include <unistd.h>
#include <memory>

#include "http/api_error.hpp"
#include "stores/workspace_fs.hpp"

namespace rtemu {
namespace {

constexpr std::size_t kMaxNameChars = 200;
constexpr std::size_t kMaxBatchIds = 250;
constexpr std::size_t kMaxSmallPartBytes = 4096;          // the `name` part
constexpr std::uint64_t kMaxIgnoredPartBytes = 1u << 20;  // parts other than file/name
// After the file exceeded the limit, this much more body is read (and discarded) so that a
// client that sends its whole body before reading still gets the 413.
constexpr std::uint64_t kMaxDrainAfterLimitBytes = 2u << 20;

// Index of the first path segment after "/v1/workspaces/{id}/<route>".
constexpr std::size_t kPathStart = 4;

bool isTrue(const std::optional<std::string>& value) {
  return value && (*value == "true" || *value == "1");
}

std::size_t utf8Length(const std::string& text) {
  std::size_t n = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string requireName(const Json& body) {
  const auto name = readString(body, "name");
  if (!name) throw validationError("name", "is required");
  if (name->empty()) throw validationError("name", "must not be empty");
  if (utf8Length(*name) > kMaxNameChars) {
    throw validationError("name", "must be at most 200 characters");
  }
  return *name;
}

std::string requireStringField(const Json& body, const char* field) {
  const auto value = readString(body, field);
  if (!value) throw validationError(field, "is required");
  return *value;
}

std::vector<RelPath> parseIds(const std::vector<std::string>& ids) {
  if (ids.empty()) throw validationError("ids", "must list at least one path");
  if (ids.size() > kMaxBatchIds) throw validationError("ids", "must list at most 250 paths");
  std::vector<RelPath> paths;
  paths.reserve(ids.size());
  for (const std::string& id : ids)
    paths.push_back(pathFromString(id, "ids"));
  return paths;
}

// `filename="..."` must stay one header value whatever the name contains.
std::string contentDisposition(bool download, const std::string& name) {
  std::string ascii;
  std::string encoded;
  bool plain = true;
  static const char kHex[] = "0123456789ABCDEF";
  for (const char raw : name) {
    const auto c = static_cast<unsigned char>(raw);
    const bool safe = c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
    ascii.push_back(safe ? raw : '_');
    plain = plain && safe;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '-' || c == '_' || c == '~') {
      encoded.push_back(raw);
    } else {
      encoded += '%';
      encoded.push_back(kHex[c >> 4]);
      encoded.push_back(kHex[c & 0x0F]);
    }
  }
  std::string value =
      std::string(download ? "attachment" : "inline") + "; filename=\"" + ascii + "\"";
  if (!plain) value += "; filename*=UTF-8''" + encoded;
  return value;
}

class Handlers {
 public:
  explicit Handlers(const WorkspaceRoutesConfig& config)
      : workspaces_(config.workspaces), sandboxes_(config.sandboxes) {}

  // ---- metadata ----

  Reply list(ApiRequest& request) {
    return okReply(workspaces_->list(request.principal.orgId));  // `all` is ignored
  }

  Reply create(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    const std::string name = requireName(body);
    const auto slug = readString(body, "slug");
    if (slug && !WorkspaceStore::validSlug(*slug)) {
      throw validationError("slug", "must match ^[a-z0-9][a-z0-9-]{0,62}$");
    }
    readString(body, "orgId");  // accepted (type-checked) and ignored: the key's org is used
    return okReply(workspaces_->create(request.principal, name, slug.value_or("")), 201);
  }

  Reply get(ApiRequest& request) {
    return okReply(workspaces_->get(request.principal.orgId, request.param("id")));
  }

  Reply usage(ApiRequest& request) {
    const WorkspaceRecord ws = workspaces_->require(request.principal.orgId, request.param("id"));
    Json mounted = Json::array();
    for (const WorkspaceMount& m : sandboxes_->mountsOf(ws.orgId, ws.id)) {
      mounted.push_back(Json{{"sandboxId", m.sandboxId},
                             {"sandboxName", m.sandboxName ? Json(*m.sandboxName) : Json()},
                             {"sandboxStatus", m.sandboxStatus},
                             {"mountPath", m.mountPath},
                             {"readOnly", m.readOnly}});
    }
    const std::size_t count = mounted.size();
    return okReply(Json{
        {"workspaceId", ws.id},
        {"workspaceName", ws.name},
        {"inUse", count > 0},
        {"counts", {{"mountedSandboxes", count}, {"installableAgents", 0}, {"customAgents", 0}}},
        {"mountedSandboxes", std::move(mounted)},
        {"installableAgents", Json::array()},
        {"customAgents", Json::array()}});
  }

  Reply rename(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    const std::string name = requireName(body);
    return okReply(workspaces_->rename(request.principal.orgId, request.param("id"), name));
  }

  Reply remove(ApiRequest& request) {
    const WorkspaceRecord ws = workspaces_->require(request.principal.orgId, request.param("id"));
    const bool force = isTrue(request.queryValue("force"));
    if (!force && !sandboxes_->mountsOf(ws.orgId, ws.id).empty()) {
      throw ApiError(409, "WORKSPACE_IN_USE",
                     "Workspace is mounted by a sandbox; pass force=true to delete it anyway");
    }
    // Sandboxes that mount it keep running; their mount now dangles.
    workspaces_->remove(ws.orgId, ws.id);
    return okReply(Json{{"id", ws.id}, {"deleted", true}});
  }

  // ---- files ----

  Reply listFiles(ApiRequest& request) {
    const RelPath path = pathFromSegments(request.segments, kPathStart);
    const WorkspaceFiles files = open(request, false);
    Reply reply = okReply(files.list(path, isTrue(request.queryValue("showHidden"))));
    reply.bare = true;
    return reply;
  }

  Reply createFile(ApiRequest& request) {
    const RelPath parent = pathFromSegments(request.segments, kPathStart);
    const Json body = parseJsonObjectBody(request.bodyText());
    const std::string name = requireStringField(body, "name");
    const std::string type = readString(body, "type").value_or("file");
    if (type != "file" && type != "folder" && type != "directory") {
      throw validationError("type", "must be file, folder or directory");
    }
    const auto contents = readString(body, "contents");
    const WorkspaceFiles files = open(request, true);
    return okReply(files.create(parent, name, type != "file", contents), 201);
  }

  Reply putFiles(ApiRequest& request) {
    const RelPath path = pathFromSegments(request.segments, kPathStart);
    const Json body = parseJsonObjectBody(request.bodyText());
    const std::string operation = requireStringField(body, "operation");
    if (path.empty()) {  // batch
      if (operation != "copy" && operation != "move") {
        throw validationError("operation", "must be copy or move");
      }
      const auto ids = readStringArray(body, "ids");
      if (!ids) throw validationError("ids", "is required");
      const std::vector<RelPath> sources = parseIds(*ids);
      const RelPath target = pathFromString(requireStringField(body, "target"), "target");
      const WorkspaceFiles files = open(request, true);
      Json newIds = Json::array();
      for (const RelPath& p : files.transfer(sources, target, operation == "move"))
        newIds.push_back(displayPath(p));
      return okReply(Json{{"ids", std::move(newIds)}});
    }
    if (operation == "rename") {
      const std::string target = requireStringField(body, "target");
      return okReply(open(request, true).rename(path, target));
    }
    if (operation == "move" || operation == "copy") {
      const RelPath target = pathFromString(requireStringField(body, "target"), "target");
      const WorkspaceFiles files = open(request, true);
      const auto results = files.transfer({path}, target, operation == "move");
      return okReply(files.entry(results.front()));
    }
    if (operation == "write") {
      const std::string contents = requireStringField(body, "contents");
      return okReply(open(request, true).write(path, contents));
    }
    throw validationError("operation", "must be rename, move, copy or write");
  }

  Reply deleteFiles(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    std::vector<std::string> ids;
    if (const auto fromBody = readStringArray(body, "ids")) {
      ids = *fromBody;
    } else {
      for (const std::string& value : request.queryValues("ids")) {
        std::size_t start = 0;
        while (start <= value.size()) {
          std::size_t comma = value.find(',', start);
          if (comma == std::string::npos) comma = value.size();
          if (comma > start) ids.push_back(value.substr(start, comma - start));
          start = comma + 1;
        }
      }
    }
    const std::vector<RelPath> paths = parseIds(ids);
    const WorkspaceFiles files = open(request, true);
    return okReply(Json{{"deleted", files.remove(paths)}});
  }

  Reply direct(ApiRequest& request) {
    const auto id = request.queryValue("id");
    if (!id) throw validationError("id", "is required");
    const RelPath path = pathFromString(*id, "id");
    if (path.empty()) throw validationError("id", "is a folder, not a file");
    const WorkspaceFiles files = open(request, false);
    WorkspaceFiles::OpenedFile opened = files.openForReading(path);
    FileBody file;
    file.fd = std::shared_ptr<const int>(new int(opened.fd.release()), [](const int* fd) {
      ::close(*fd);
      delete fd;
    });
    file.size = opened.size;
    file.contentType = guessMimeType(path.back());
    file.headers.emplace_back(
        "Content-Disposition",
        contentDisposition(isTrue(request.queryValue("download")), path.back()));
    Reply reply;
    reply.file = std::move(file);
    return reply;
  }

  Reply storageInfo(ApiRequest& request) {
    const WorkspaceRecord ws = workspaces_->require(request.principal.orgId, request.param("id"));
    const std::int64_t used = directorySizeBytes(workspaces_->filesDir(ws.id));
    const std::int64_t total = WorkspaceStore::kQuotaBytes;
    Reply reply = okReply(Json::array(
        {Json{{"free", used < total ? total - used : 0}, {"total", total}, {"used", used}}}));
    reply.bare = true;
    return reply;
  }

  Reply pathInfo(ApiRequest& request) {
    const RelPath path = pathFromSegments(request.segments, kPathStart);
    return okReply(open(request, false).info(path));
  }

  Reply upload(ApiRequest& request) {
    BodyStream* body = request.bodyStream;
    if (!body) throw ApiError(500, "internal_error", "Upload body unavailable");
    const auto length = body->contentLength();
    if (length && *length > kMaxUploadFileBytes + kMultipartOverheadBytes) {
      request.closeConnection = true;  // refused before reading a byte of it
      throw tooLarge();
    }
    const WorkspaceFiles files = open(request, true);
    if (!body->isMultipart()) {
      throw validationError("body", "must be multipart/form-data with a 'file' part");
    }
    RelPath dir = pathFromSegments(request.segments, kPathStart);
    if (dir.empty()) {
      if (const auto id = request.queryValue("id")) dir = pathFromString(*id, "id");
    }
    files.requireFolder(dir);

    enum class Part { kNone, kFile, kName, kIgnored };
    Part current = Part::kNone;
    std::optional<WorkspaceFiles::Upload> upload;
    std::optional<ApiError> failure;
    bool fileSeen = false;
    bool nameSeen = false;
    std::string filename;
    std::string nameValue;
    bool nameTooLong = false;
    std::uint64_t fileBytes = 0;
    std::uint64_t ignoredBytes = 0;
    bool over = false;
    std::uint64_t afterLimit = 0;

    const bool complete = body->readMultipart(
        [&](const MultipartPart& part) {
          if (part.name == "file" && !fileSeen) {
            fileSeen = true;
            filename = part.filename;
            try {
              upload.emplace(files.beginUpload(dir));
            } catch (const ApiError& error) {
              failure = error;
              return false;
            }
            current = Part::kFile;
          } else if (part.name == "name" && !nameSeen) {
            nameSeen = true;
            current = Part::kName;
          } else {
            current = Part::kIgnored;
          }
          return true;
        },
        [&](const char* data, std::size_t size) {
          if (over) {
            afterLimit += size;
            return afterLimit <= kMaxDrainAfterLimitBytes;
          }
          switch (current) {
            case Part::kFile:
              fileBytes += size;
              if (fileBytes > kMaxUploadFileBytes) {
                over = true;
                upload->discard();  // not one more byte is stored
                return true;
              }
              if (!upload->append(data, size)) {
                failure = ApiError(500, "internal_error", "Could not write the uploaded file");
                return false;
              }
              return true;
            case Part::kName:
              if (nameValue.size() + size > kMaxSmallPartBytes) {
                nameTooLong = true;
              } else {
                nameValue.append(data, size);
              }
              return true;
            case Part::kIgnored:
            case Part::kNone:
              ignoredBytes += size;
              return ignoredBytes <= kMaxIgnoredPartBytes;
          }
          return true;
        });
    if (over) throw tooLarge();
    if (failure) throw *failure;
    if (!complete) throw validationError("body", "is not a complete multipart/form-data body");
    if (!fileSeen) throw validationError("file", "is required");
    if (nameTooLong) throw validationError("name", "must be at most 255 bytes");
    const std::string name = nameSeen && !nameValue.empty() ? nameValue : filename;
    if (name.empty()) throw validationError("name", "is required (the file part has no filename)");
    return okReply(upload->commit(name), 201);
  }

 private:
  static ApiError tooLarge() {
    return ApiError(
        413, "payload_too_large",
        "Uploads are limited to " + std::to_string(kMaxUploadFileBytes) + " bytes per request");
  }

  // The workspace's files, after checking that the workspace is the caller's (404 otherwise).
  WorkspaceFiles open(const ApiRequest& request, bool writing) {
    const WorkspaceRecord ws = workspaces_->require(request.principal.orgId, request.param("id"));
    WorkspaceFiles files(workspaces_->filesDir(ws.id));
    workspaces_->touch(ws.id, writing);
    return files;
  }

  WorkspaceStore* workspaces_;
  SandboxStore* sandboxes_;
};

}  // namespace

void addWorkspaceRoutes(Router& router, const WorkspaceRoutesConfig& config) {
  auto h = std::make_shared<Handlers>(config);
  auto bind = [h](Reply (Handlers::*method)(ApiRequest&)) {
    return [h, method](ApiRequest& request) { return ((*h).*method)(request); };
  };
  router.add("GET", "/v1/workspaces", Access::kFilesRead, bind(&Handlers::list));
  router.add("POST", "/v1/workspaces", Access::kFilesWrite, bind(&Handlers::create));
  router.add("GET", "/v1/workspaces/:id", Access::kFilesRead, bind(&Handlers::get));
  router.add("PATCH", "/v1/workspaces/:id", Access::kFilesWrite, bind(&Handlers::rename));
  router.add("DELETE", "/v1/workspaces/:id", Access::kFilesWrite, bind(&Handlers::remove));
  router.add("GET", "/v1/workspaces/:id/usage", Access::kFilesRead, bind(&Handlers::usage));

  // "files/*" also matches ".../files" itself (the root).
  router.add("GET", "/v1/workspaces/:id/files/*", Access::kFilesRead, bind(&Handlers::listFiles));
  router.add("POST", "/v1/workspaces/:id/files/*", Access::kFilesWrite,
             bind(&Handlers::createFile));
  router.add("PUT", "/v1/workspaces/:id/files/*", Access::kFilesWrite, bind(&Handlers::putFiles));
  router.add("DELETE", "/v1/workspaces/:id/files", Access::kFilesWrite,
             bind(&Handlers::deleteFiles));
  router.add("POST", "/v1/workspaces/:id/upload/*", Access::kFilesWrite, bind(&Handlers::upload),
             BodyMode::kStreamed, kMaxUploadFileBytes + kMultipartOverheadBytes);
  router.add("GET", "/v1/workspaces/:id/direct", Access::kFilesRead, bind(&Handlers::direct));
  router.add("GET", "/v1/workspaces/:id/info", Access::kFilesRead, bind(&Handlers::storageInfo));
  router.add("GET", "/v1/workspaces/:id/info/*", Access::kFilesRead, bind(&Handlers::pathInfo));
}

}  // namespace rtemu
