#include "control/control_routes.hpp"

#include "http/api_error.hpp"

namespace rtemu {
namespace {

constexpr char kVersion[] = "0.1.0";

Json templates() {
  return Json::array({
      Json{{"id", "tpl_base_ubuntu"},
           {"slug", "base-ubuntu"},
           {"name", "Base Ubuntu"},
           {"description", "Ubuntu with Bun, Node.js and common developer tools"},
           {"sizeBytes", 400ll * 1024 * 1024},
           {"public", true},
           {"status", "ready"}},
      Json{{"id", "tpl_desktop_ubuntu"},
           {"slug", "desktop-ubuntu"},
           {"name", "Desktop Ubuntu"},
           {"description", "Ubuntu desktop with XFCE4, KasmVNC and Firefox ESR"},
           {"sizeBytes", 1024ll * 1024 * 1024},
           {"public", true},
           {"status", "ready"}},
  });
}

Reply notImplemented(ApiRequest& request) {
  throw ApiError(
      501, "not_implemented",
      request.method + " " + request.rawPath + " is not implemented by runtools-emulator");
}

}  // namespace

void addControlRoutes(Router& router, const ControlRoutesConfig& config) {
  router.add("GET", "/health", Access::kPublic, [](ApiRequest&) {
    Reply reply = okReply(Json{{"status", "ok"}});
    reply.bare = true;
    return reply;
  });
  router.add("GET", "/v1/status", Access::kPublic, [](ApiRequest&) {
    Reply reply =
        okReply(Json{{"status", "ok"}, {"service", "runtools-emulator"}, {"version", kVersion}});
    reply.bare = true;
    return reply;
  });

  router.add("GET", "/v1/templates", Access::kTemplates,
             [](ApiRequest&) { return okReply(templates()); });
  router.add("GET", "/v1/templates/:slug", Access::kTemplates, [](ApiRequest& request) {
    for (const Json& t : templates()) {
      if (t["slug"] == request.param("slug")) return okReply(t);
    }
    throw notFound("Template not found");
  });
  router.add("POST", "/v1/templates", Access::kTemplates, notImplemented);
  router.add("*", "/v1/workflows/*", Access::kWorkflows, notImplemented);
  for (const char* surface : {"/v1/devices/*", "/v1/aip/*"}) {
    router.add("*", surface, Access::kFull, notImplemented);
  }

  const std::function<void()> reset = config.reset;
  router.add("POST", "/_emu/reset", Access::kControl, [reset](ApiRequest&) {
    if (reset) reset();
    return okReply(Json{{"reset", true}});
  });
}

}  // namespace rtemu
