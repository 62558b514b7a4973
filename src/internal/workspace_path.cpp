#include "internal/workspace_path.hpp"

#include "internal/path.hpp"
#include "runtools/errors.hpp"

namespace runtools::internal {

WorkspacePath WorkspacePath::parse(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) {
    throw InvalidArgumentError("a workspace path must not contain NUL bytes");
  }
  WorkspacePath out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      throw InvalidArgumentError("workspace path \"" + std::string(path) +
                                 "\" contains \"..\"; paths are relative to the workspace root");
    }
    if (!segment.empty() && segment != ".") out.segments_.emplace_back(segment);
    start = end + 1;
  }
  return out;
}

std::string WorkspacePath::id() const {
  if (segments_.empty()) return "/";
  std::string out;
  for (const auto& segment : segments_)
    out += "/" + segment;
  return out;
}

std::string WorkspacePath::encoded() const {
  std::string out;
  for (const auto& segment : segments_)
    out += "/" + encodePathSegment(segment);
  return out;
}

const std::string& WorkspacePath::name() const {
  if (segments_.empty()) throw InvalidArgumentError("the workspace root has no name");
  return segments_.back();
}

WorkspacePath WorkspacePath::parent() const {
  if (segments_.empty()) throw InvalidArgumentError("the workspace root has no parent");
  WorkspacePath out = *this;
  out.segments_.pop_back();
  return out;
}

void requireSingleName(std::string_view name, const char* what) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    throw InvalidArgumentError(std::string(what) + " \"" + std::string(name) +
                               "\" must be a single file name (no '/', not \".\" or \"..\")");
  }
}

}  // namespace runtools::internal
