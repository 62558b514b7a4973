#pragma once

// Workspace-relative paths: "/a/b", "a/b/" and "a//b" name the same entry; a
// ".." segment is refused before any request, so no path can leave the
// workspace whatever the server does with it.

#include <string>
#include <string_view>
#include <vector>

namespace runtools::internal {

class WorkspacePath {
 public:
  /// Throws InvalidArgumentError for `..` segments or NUL bytes.
  static WorkspacePath parse(std::string_view path);

  bool isRoot() const noexcept { return segments_.empty(); }
  const std::vector<std::string>& segments() const noexcept { return segments_; }
  /// "/a/b" ("/" for the root): the form used in request bodies.
  std::string id() const;
  /// "/a%20b/c" ("" for the root): each segment percent-encoded, to append
  /// to a URL path.
  std::string encoded() const;
  /// The last segment; throws InvalidArgumentError for the root.
  const std::string& name() const;
  /// Everything but the last segment; throws InvalidArgumentError for the root.
  WorkspacePath parent() const;

 private:
  std::vector<std::string> segments_;
};

/// Checks that `name` is one path segment (no '/', not "." or "..", no NUL).
void requireSingleName(std::string_view name, const char* what);

}  // namespace runtools::internal
