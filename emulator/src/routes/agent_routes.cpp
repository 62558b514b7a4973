#include "routes/agent_routes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <memory>

#include "http/api_error.hpp"

namespace rtemu {
namespace {

constexpr std::size_t kThreadListDefaultLimit = 50;
constexpr std::size_t kThreadListMaxLimit = 100;
constexpr std::size_t kRunListDefaultLimit = 50;
constexpr std::size_t kRunListMaxLimit = 500;
constexpr std::size_t kSnapshotMaxEvents = 500;
constexpr std::size_t kEventsDefaultLimit = 100;
constexpr std::size_t kEventsMaxLimit = 500;
constexpr std::size_t kMaxThreadTitle = 200;
constexpr std::size_t kMaxToolOutputBytes = 16u << 20;

Reply paged(const Json& items, const PageRequest& page) {
  Reply reply;
  Pagination pagination;
  reply.data = slicePage(items, page, pagination);
  reply.page = pagination;
  return reply;
}

bool includeArchived(const ApiRequest& request) {
  const auto value = request.queryValue("archived");
  if (!value || value->empty() || *value == "false" || *value == "0") return false;
  if (*value == "true" || *value == "1") return true;
  throw validationError("archived", "must be true or false");
}

bool allRollouts(const ApiRequest& request) {
  return request.queryValue("include") == std::optional<std::string>("all_rollouts");
}

std::optional<std::string> nonEmptyQuery(const ApiRequest& request, const char* key) {
  auto value = request.queryValue(key);
  if (value && value->empty()) return std::nullopt;
  return value;
}

// ---- run bodies --------------------------------------------------------------------------------

void checkInteger(const Json& obj, const char* key, const std::string& field, std::int64_t min,
                  std::int64_t max) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return;
  const bool integer = it->is_number_integer() || it->is_number_unsigned();
  if (!integer ||
      (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) ||
      it->get<std::int64_t>() < min || it->get<std::int64_t>() > max) {
    throw validationError(
        field, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
  }
}

void checkNumber(const Json& obj, const char* key, const std::string& field, double min, double max,
                 const std::string& range) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return;
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < min ||
      it->get<double>() > max) {
    throw validationError(field, "must be a number between " + range);
  }
}

struct RunRequest {
  std::string agentRef;
  std::string text;
  std::vector<std::string> attachmentIds;
  std::optional<std::string> threadId;
  bool stream = true;
};

// The text and attachment ids of message `m` (validated).
void parseMessage(const Json& m, std::string& text, std::vector<std::string>& attachments,
                  std::string& role) {
  if (!m.is_object()) throw validationError("messages", "items must be objects");
  const auto roleIt = m.find("role");
  if (roleIt == m.end() || !roleIt->is_string() ||
      (*roleIt != "user" && *roleIt != "assistant" && *roleIt != "system")) {
    throw validationError("messages.role", "must be user, assistant or system");
  }
  role = roleIt->get<std::string>();
  std::vector<std::string> texts;
  const auto content = m.find("content");
  if (content != m.end() && !content->is_null()) {
    if (!content->is_string()) throw validationError("messages.content", "must be a string");
    if (!content->get<std::string>().empty()) texts.push_back(content->get<std::string>());
  }
  const auto parts = m.find("parts");
  if (parts != m.end() && !parts->is_null()) {
    if (!parts->is_array()) throw validationError("messages.parts", "must be an array");
    for (const Json& part : *parts) {
      const auto type = part.is_object() ? part.find("type") : part.end();
      if (!part.is_object() || type == part.end() || !type->is_string()) {
        throw validationError("messages.parts", "items must be objects with a type");
      }
      if (*type == "text") {
        const auto partText = part.find("text");
        if (partText == part.end() || !partText->is_string()) {
          throw validationError("messages.parts.text", "must be a string");
        }
        texts.push_back(partText->get<std::string>());
      } else if (*type == "attachment") {
        const auto id = part.find("attachmentId");
        if (id == part.end() || !id->is_string() || id->get<std::string>().empty()) {
          throw validationError("messages.parts.attachmentId", "is required");
        }
        attachments.push_back(id->get<std::string>());
      } else {
        throw validationError("messages.parts.type", "must be text or attachment");
      }
    }
  }
  text.clear();
  for (std::size_t i = 0; i < texts.size(); ++i)
    text += (i ? "\n" : "") + texts[i];
}

RunRequest parseRunBody(const Json& body, const std::optional<std::string>& agentFromPath) {
  RunRequest r;
  if (agentFromPath) {
    r.agentRef = *agentFromPath;
  } else {
    const auto agent = readString(body, "agent");
    if (!agent || agent->empty()) throw validationError("agent", "is required");
    r.agentRef = *agent;
  }
  const auto prompt = readString(body, "prompt");
  if (prompt && prompt->empty()) throw validationError("prompt", "must not be empty");
  const auto messages = body.find("messages");
  bool haveMessages = false;
  if (messages != body.end() && !messages->is_null()) {
    if (!messages->is_array() || messages->empty()) {
      throw validationError("messages", "must be a non-empty array");
    }
    std::optional<std::size_t> lastUser;
    std::vector<std::pair<std::string, std::vector<std::string>>> parsed;
    for (std::size_t i = 0; i < messages->size(); ++i) {
      std::string text;
      std::vector<std::string> attachments;
      std::string role;
      parseMessage((*messages)[i], text, attachments, role);
      if (role == "user") lastUser = i;
      parsed.emplace_back(std::move(text), std::move(attachments));
    }
    if (!lastUser) throw validationError("messages", "must contain a user message");
    if (parsed[*lastUser].first.empty() && parsed[*lastUser].second.empty()) {
      throw validationError("messages", "the last user message has no text and no attachments");
    }
    haveMessages = true;
    if (!prompt) {
      r.text = parsed[*lastUser].first;
      r.attachmentIds = parsed[*lastUser].second;
    }
  }
  if (prompt) {
    r.text = *prompt;
  } else if (!haveMessages) {
    throw validationError("prompt", "prompt or messages is required");
  }
  r.threadId = readString(body, "threadId");
  if (r.threadId && r.threadId->empty()) throw validationError("threadId", "must not be empty");
  r.stream = readBool(body, "stream").value_or(true);
  if (const auto config = readObject(body, "config")) {
    checkInteger(*config, "maxTokens", "config.maxTokens", 1, 128000);
    checkInteger(*config, "maxTurns", "config.maxTurns", 1, 100);
    checkNumber(*config, "temperature", "config.temperature", 0, 2, "0 and 2");
  }
  readObject(body, "metadata");  // type check only
  return r;
}

// ---- handlers ----------------------------------------------------------------------------------

class Handlers {
 public:
  explicit Handlers(AgentRoutesConfig config) : c_(std::move(config)) {}

  SandboxResolver resolver(const std::string& orgId) const {
    SandboxStore* sandboxes = c_.sandboxes;
    return [sandboxes, orgId](const std::string& ref) {
      const Json sandbox = sandboxes->get(orgId, ref);  // 404 when unknown or destroyed
      return std::make_pair(sandbox["id"].get<std::string>(), sandbox["name"]);
    };
  }

  Reply upsertAgent(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    const AgentChanges changes = parseAgentBody(body, true, resolver(request.principal.orgId));
    const auto result = c_.agents->upsert(request.principal, *changes.slug, changes);
    const Json& agent = result.agent;
    return okReply(Json{{"id", agent["id"]},
                        {"slug", agent["slug"]},
                        {"action", result.created ? "created" : "updated"},
                        {"version", agent["version"]},
                        {"sandboxId", agent["sandboxId"]},
                        {"targetDeviceId", agent["targetDeviceId"]},
                        {"endpoint",
                         c_.baseUrl() + "/v1/agents/" + agent["slug"].get<std::string>() + "/run"}},
                   result.created ? 201 : 200);
  }

  Reply patchAgent(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    c_.agents->get(request.principal.orgId, request.param("slug"));  // 404 first
    const AgentChanges changes = parseAgentBody(body, false, resolver(request.principal.orgId));
    return okReply(c_.agents->update(request.principal.orgId, request.param("slug"), changes));
  }

  Reply setVisibility(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    c_.agents->get(request.principal.orgId, request.param("slug"));
    const auto visibility = readString(body, "visibility");
    if (!visibility ||
        (*visibility != "private" && *visibility != "org" && *visibility != "public")) {
      throw validationError("visibility", "must be one of private, org, public");
    }
    return okReply(
        c_.agents->setVisibility(request.principal.orgId, request.param("slug"), *visibility));
  }

  Reply startRun(ApiRequest& request, const std::optional<std::string>& agentFromPath) {
    const Json body = parseJsonObjectBody(request.bodyText());
    const RunRequest parsed = parseRunBody(body, agentFromPath);
    const Principal& caller = request.principal;
    const AgentSnapshot agent = c_.agents->snapshot(caller.orgId, parsed.agentRef);
    std::optional<ThreadRef> thread;
    if (parsed.threadId) thread = c_.threads->require(caller.orgId, *parsed.threadId);
    RunPlan plan;
    plan.caller = caller;
    plan.text = parsed.text;
    plan.attachmentIds = parsed.attachmentIds;
    plan.attachmentNames =
        c_.attachments->readyFilenames(caller.orgId, parsed.attachmentIds, "messages.parts");
    if (!thread) {
      thread = c_.threads->create(caller, agent.id, agent.slug, agent.executionMode, parsed.text);
    }
    Run run;
    run.orgId = caller.orgId;
    run.userId = caller.userId;
    run.agentId = agent.id;
    run.agentSlug = agent.slug;
    run.threadId = thread->id;
    run.rolloutId = thread->activeRolloutId;
    run.executionMode = agent.executionMode;
    run.sandboxId = agent.sandboxId;
    run.targetDeviceId = agent.targetDeviceId;
    plan.run = c_.runs->create(std::move(run));

    Reply reply;
    reply.headers = {{"X-Run-ID", plan.run->id}, {"X-Thread-ID", plan.run->threadId}};
    if (!parsed.stream) {
      reply.data = c_.engine->runToCompletion(plan);
      return reply;
    }
    reply.headers.emplace_back("Cache-Control", "no-cache");
    RunEngine* engine = c_.engine;
    StreamBody stream;
    stream.contentType = "text/event-stream";
    stream.produce = [engine, plan](StreamSink& sink) { engine->stream(plan, sink); };
    stream.abandoned = [engine, plan] { engine->abandon(plan); };
    reply.stream = std::move(stream);
    return reply;
  }

  Reply listRuns(ApiRequest& request) {
    const PageRequest page = parsePageRequest(request, kRunListDefaultLimit, kRunListMaxLimit);
    const auto status = nonEmptyQuery(request, "status");
    if (status && *status != "running" && *status != "completed" && *status != "failed" &&
        *status != "cancelled") {
      throw validationError("status", "must be one of running, completed, failed, cancelled");
    }
    return paged(c_.runs->list(request.principal.orgId, nonEmptyQuery(request, "agent"), status),
                 page);
  }

  Reply runThreads(ApiRequest& request) {
    const PageRequest page =
        parsePageRequest(request, kThreadListDefaultLimit, kThreadListMaxLimit);
    return paged(c_.threads->list(request.principal.orgId, includeArchived(request),
                                  nonEmptyQuery(request, "agent")),
                 page);
  }

  Reply listThreads(ApiRequest& request) {
    const PageRequest page =
        parsePageRequest(request, kThreadListDefaultLimit, kThreadListMaxLimit);
    return paged(c_.threads->list(request.principal.orgId, includeArchived(request), std::nullopt),
                 page);
  }

  Reply threadSnapshot(ApiRequest& request) {
    const PageRequest page = parsePageRequest(request, kSnapshotMaxEvents, kSnapshotMaxEvents);
    Json out = c_.threads->events(request.principal.orgId, request.param("id"),
                                  allRollouts(request), std::nullopt);
    Json& events = out["events"];
    if (events.size() > page.limit) {
      events.erase(events.begin() + static_cast<std::ptrdiff_t>(page.limit), events.end());
    }
    return okReply(std::move(out));
  }

  Reply threadEvents(ApiRequest& request) {
    const PageRequest page = parsePageRequest(request, kEventsDefaultLimit, kEventsMaxLimit);
    Json out = c_.threads->events(request.principal.orgId, request.param("id"),
                                  allRollouts(request), nonEmptyQuery(request, "rollout_id"));
    Pagination pagination;
    out["events"] = slicePage(out["events"], page, pagination);
    Reply reply = okReply(std::move(out));
    reply.page = pagination;
    return reply;
  }

  Reply patchThread(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    const auto title = readString(body, "title");
    const auto archived = readBool(body, "archived");
    if (title) {
      const std::size_t chars = ThreadStore::countCharacters(*title);
      if (chars < 1 || chars > kMaxThreadTitle) {
        throw validationError("title", "must be 1 to 200 characters");
      }
    }
    if (!title && !archived) throw validationError("body", "title or archived is required");
    return okReply(
        c_.threads->patch(request.principal.orgId, request.param("id"), title, archived));
  }

  Reply createAttachment(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    AttachmentStore::NewAttachment spec;
    const auto threadId = readString(body, "threadId");
    if (!threadId || threadId->empty()) throw validationError("threadId", "is required");
    const auto filename = readString(body, "filename");
    if (!filename || filename->empty()) throw validationError("filename", "is required");
    if (filename->find('/') != std::string::npos || filename->find('\0') != std::string::npos) {
      throw validationError("filename", "must not contain '/' or NUL");
    }
    const auto contentType = readString(body, "contentType");
    if (!contentType || contentType->empty()) {
      throw validationError("contentType", "is required");
    }
    spec.agentSlug = readString(body, "agentSlug");
    const auto it = body.find("sizeBytes");
    if (it != body.end() && !it->is_null()) {
      const bool integer = it->is_number_unsigned() || it->is_number_integer();
      if (!integer || it->get<std::int64_t>() < 0 ||
          static_cast<std::uint64_t>(it->get<std::int64_t>()) > AttachmentStore::kMaxBytes) {
        throw validationError("sizeBytes", "must be an integer between 0 and " +
                                               std::to_string(AttachmentStore::kMaxBytes));
      }
      spec.sizeBytes = it->get<std::int64_t>();
    }
    spec.threadId = c_.threads->require(request.principal.orgId, *threadId).id;  // 404
    spec.filename = *filename;
    spec.contentType = *contentType;
    return okReply(c_.attachments->create(request.principal, spec, c_.baseUrl()), 201);
  }

  Reply upload(ApiRequest& request) {
    BodyStream* body = request.bodyStream;
    if (!body) throw ApiError(500, "internal_error", "Upload body unavailable");
    const ApiError tooLarge(
        413, "payload_too_large",
        "Uploads are limited to " + std::to_string(AttachmentStore::kMaxBytes) + " bytes");
    const auto length = body->contentLength();
    if (length && *length > AttachmentStore::kMaxBytes) {
      request.closeConnection = true;  // refused before reading a byte of it
      throw tooLarge;
    }
    AttachmentUpload upload = c_.attachments->beginUpload(request.param("id"));
    bool over = false;
    bool writeFailed = false;
    const bool complete = body->read([&](const char* data, std::size_t size) {
      if (upload.bytes + size > AttachmentStore::kMaxBytes) {
        over = true;  // the temporary file goes with `upload`
        return false;
      }
      if (!upload.append(data, size)) {
        writeFailed = true;
        return false;
      }
      return true;
    });
    if (over) throw tooLarge;
    if (writeFailed) throw ApiError(500, "internal_error", "Could not store the upload");
    if (!complete) throw ApiError(400, "bad_request", "The request body could not be read");
    return okReply(c_.attachments->commitUpload(upload));
  }

  Reply download(ApiRequest& request) {
    const auto content = c_.attachments->content(request.param("id"));
    if (!content) throw notFound("Upload not found");
    const int fd = ::open(content->file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw notFound("Upload not found");
    struct stat st {};
    ::fstat(fd, &st);
    FileBody file;
    file.fd = std::shared_ptr<const int>(new int(fd), [](const int* p) {
      ::close(*p);
      delete p;
    });
    file.size = static_cast<std::uint64_t>(st.st_size);
    file.contentType = content->contentType;
    Reply reply;
    reply.file = std::move(file);
    return reply;
  }

  Reply resolveAttachment(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    const auto model = readString(body, "model");
    if (!model || model->empty()) throw validationError("model", "is required");
    readBool(body, "isMostRecentUserAttachment");  // type check only
    return okReply(c_.attachments->resolve(request.principal.orgId, request.param("id"), *model,
                                           c_.baseUrl()));
  }

  const AgentRoutesConfig& config() const { return c_; }

 private:
  AgentRoutesConfig c_;
};

}  // namespace

ToolRunner sandboxToolRunner(const SandboxRoutesConfig& sandboxes) {
  return [sandboxes](const RunPlan& plan, const std::string& command,
                     const std::function<bool()>& keepGoing) {
    ToolOutcome out;
    const Run& run = *plan.run;
    if (!run.sandboxId) {
      out.failure = "the agent has no sandbox";
      return out;
    }
    ExecTarget target;
    try {
      target = sandboxes.store->prepareExec(run.orgId, *run.sandboxId);
    } catch (const ApiError& error) {
      out.failure = "sandbox " + *run.sandboxId + ": " + error.what();
      return out;
    }
    ExecOptions options;
    options.command = command;
    CommandObserver observer;
    observer.onOutput = [&](int stream, const char* data, std::size_t size) {
      std::string& text = stream == 1 ? out.stdoutText : out.stderrText;
      text.append(data,
                  std::min(size, kMaxToolOutputBytes - std::min(kMaxToolOutputBytes, text.size())));
      return true;
    };
    observer.onTick = keepGoing;
    try {
      const CommandResult result =
          execInSandbox(sandboxes, plan.caller, target, options, &observer);
      out.ran = true;
      out.exitCode = result.exitCode;
      out.stderrText += result.stderrText;  // the timeout note
    } catch (const ApiError& error) {
      out.failure = error.what();
    }
    return out;
  };
}

void addAgentRoutes(Router& router, const AgentRoutesConfig& config) {
  auto h = std::make_shared<Handlers>(config);
  AgentStore* agents = config.agents;
  ThreadStore* threads = config.threads;
  RunManager* runs = config.runs;
  AttachmentStore* attachments = config.attachments;

  // Agents.
  router.add("GET", "/v1/agents", Access::kAgentRead, [agents](ApiRequest& request) {
    return okReply(agents->list(request.principal.orgId));  // `all` is ignored
  });
  router.add("POST", "/v1/agents", Access::kAgentWrite,
             [h](ApiRequest& request) { return h->upsertAgent(request); });
  router.add("GET", "/v1/agents/:slug", Access::kAgentRead, [agents](ApiRequest& request) {
    return okReply(agents->get(request.principal.orgId, request.param("slug")));
  });
  router.add("PATCH", "/v1/agents/:slug", Access::kAgentWrite,
             [h](ApiRequest& request) { return h->patchAgent(request); });
  router.add("DELETE", "/v1/agents/:slug", Access::kAgentWrite, [agents](ApiRequest& request) {
    return okReply(agents->remove(request.principal.orgId, request.param("slug")));
  });
  router.add("PATCH", "/v1/agents/:slug/visibility", Access::kAgentWrite,
             [h](ApiRequest& request) { return h->setVisibility(request); });
  router.add("POST", "/v1/agents/:slug/run", Access::kAgentRun,
             [h](ApiRequest& request) { return h->startRun(request, request.param("slug")); });

  // Runs ("threads" before ":runId").
  router.add("POST", "/v1/run", Access::kAgentRun,
             [h](ApiRequest& request) { return h->startRun(request, std::nullopt); });
  router.add("GET", "/v1/run", Access::kAgentRead,
             [h](ApiRequest& request) { return h->listRuns(request); });
  router.add("GET", "/v1/run/threads", Access::kAgentRead,
             [h](ApiRequest& request) { return h->runThreads(request); });
  router.add("GET", "/v1/run/:runId", Access::kAgentRead, [runs](ApiRequest& request) {
    return okReply(runs->get(request.principal.orgId, request.param("runId")));
  });
  router.add("POST", "/v1/run/:runId/cancel", Access::kAgentRun, [runs](ApiRequest& request) {
    return okReply(runs->cancel(request.principal.orgId, request.param("runId")));
  });

  // Threads.
  router.add("GET", "/v1/threads", Access::kAgentRead,
             [h](ApiRequest& request) { return h->listThreads(request); });
  router.add("GET", "/v1/threads/:id", Access::kAgentRead,
             [h](ApiRequest& request) { return h->threadSnapshot(request); });
  router.add("GET", "/v1/threads/:id/events", Access::kAgentRead,
             [h](ApiRequest& request) { return h->threadEvents(request); });
  router.add("GET", "/v1/threads/:id/rollouts", Access::kAgentRead, [threads](ApiRequest& request) {
    return okReply(threads->rollouts(request.principal.orgId, request.param("id")));
  });
  router.add("PATCH", "/v1/threads/:id", Access::kAgentRun,
             [h](ApiRequest& request) { return h->patchThread(request); });
  router.add("DELETE", "/v1/threads/:id", Access::kAgentRun, [threads](ApiRequest& request) {
    return okReply(threads->remove(request.principal.orgId, request.param("id")));
  });
  router.add("POST", "/v1/threads/:id/compact", Access::kAgentRun, [threads](ApiRequest& request) {
    return okReply(threads->compact(request.principal.orgId, request.param("id")));
  });

  // Attachments.
  router.add("POST", "/v1/agent-attachments", Access::kAgentRun,
             [h](ApiRequest& request) { return h->createAttachment(request); });
  router.add("POST", "/v1/agent-attachments/:id/complete", Access::kAgentRun,
             [attachments](ApiRequest& request) {
               return okReply(attachments->complete(request.principal.orgId, request.param("id")));
             });
  router.add("POST", "/v1/agent-attachments/:id/resolve", Access::kAgentRun,
             [h](ApiRequest& request) { return h->resolveAttachment(request); });
  // The pre-signed upload URL: no key, the unguessable id is the credential.
  router.add(
      "PUT", "/_emu/uploads/:id", Access::kPublic,
      [h](ApiRequest& request) { return h->upload(request); }, BodyMode::kStreamed,
      AttachmentStore::kMaxBytes);
  router.add("GET", "/_emu/uploads/:id", Access::kPublic,
             [h](ApiRequest& request) { return h->download(request); });
}

}  // namespace rtemu
