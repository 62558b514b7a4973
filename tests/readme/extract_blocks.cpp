// readme_extract README OUTDIR PROGRAMS
//
// Turns every ```cpp block of README.md into test code:
//
// - a block that is a whole program (a line starting with `int main(`) is
//   written to OUTDIR/readme_program_<n>.cpp as it stands, to be built as its
//   own executable and run against an emulator; PROGRAMS is how many such
//   blocks CMake expects (it counted them when it configured the build);
// - every other block becomes a function of OUTDIR/readme_blocks.cpp, called
//   by one Catch2 test case, with the README's own line numbers (#line) so
//   that a compiler error points into README.md. The names a block uses
//   without declaring them (`rt`, `sandbox`, `streamed`, ...) are bound to the
//   fixtures of readme_prelude.hpp; `#include` lines move to the top.
//
// Blocks in other languages (sh, cmake) are skipped. Exits 1 when README.md
// cannot be read or the number of programs is not PROGRAMS.

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Block {
  int firstLine = 0;  // the line after the opening fence
  std::string section;
  std::vector<std::string> lines;
};

// The names a block may use without declaring them, and the fixture that
// provides each (see readme_prelude.hpp).
struct Fixture {
  const char* name;
  const char* expression;
};
constexpr Fixture kFixtures[] = {
    {"rt", "fx.rt()"},
    {"sandbox", "fx.sandbox()"},
    {"streamed", "fx.streamed()"},
    {"options", "fx.runOptions()"},
    {"value", "fx.secretValue()"},
    {"id", "fx.connectionId()"},
    {"clientId", "fx.clientId()"},
    {"clientSecret", "fx.clientSecret()"},
    {"publicKey", "fx.publicKey()"},
};

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The code without comments, string literals and character literals, so that
// a name mentioned in prose or in a string is not taken for a use.
std::string codeOnly(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n')
        ++i;
      out += '\n';
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      i += 2;
      while (i + 1 < text.size() && !(text[i] == '*' && text[i + 1] == '/'))
        ++i;
      ++i;
      out += ' ';
    } else if (c == '"' || c == '\'') {
      ++i;
      while (i < text.size() && text[i] != c) {
        if (text[i] == '\\') ++i;
        ++i;
      }
      out += "0";
    } else {
      out += c;
    }
  }
  return out;
}

bool isIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Whether `name` appears as a name of its own (not a member: `x.id`, `a::id`,
// `p->id`).
bool mentions(const std::string& code, const std::string& name) {
  for (std::size_t at = code.find(name); at != std::string::npos; at = code.find(name, at + 1)) {
    const char before = at == 0 ? ' ' : code[at - 1];
    const std::size_t end = at + name.size();
    const char after = end < code.size() ? code[end] : ' ';
    if (isIdentifierChar(before) || isIdentifierChar(after)) continue;
    if (before == '.' || before == ':' || before == '>') continue;
    return true;
  }
  return false;
}

// Whether the block declares `name` itself (`auto name =`, `Type name;`).
bool declares(const std::string& code, const std::string& name) {
  static const std::set<std::string> kNotTypes = {"return", "throw", "case",    "else",
                                                  "delete", "new",   "typedef", "using"};
  const std::regex declaration("([A-Za-z_][A-Za-z0-9_:<>,]*[&*]?)\\s+[&*]?" + name +
                               "\\s*(=|;|\\{|\\(|:)");
  for (std::sregex_iterator it(code.begin(), code.end(), declaration), end; it != end; ++it) {
    const std::size_t at = static_cast<std::size_t>(it->position(0));
    if (at > 0 && (isIdentifierChar(code[at - 1]) || code[at - 1] == '.')) continue;
    if (kNotTypes.count((*it)[1].str()) == 0) return true;
  }
  return false;
}

bool isProgram(const Block& block) {
  for (const auto& line : block.lines) {
    if (startsWith(line, "int main(")) return true;
  }
  return false;
}

// Letters, digits, spaces and dashes only: Catch2 gives commas and brackets in
// a test name a meaning of their own.
std::string plainName(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (isIdentifierChar(c) || c == ' ' || c == '-') out += c;
  }
  return out;
}

std::string quoted(const std::string& path) {
  std::string out = "\"";
  for (const char c : path) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool writeFile(const std::string& path, const std::string& text) {
  // Unchanged outputs are left alone, so that nothing is rebuilt for nothing.
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::ostringstream old;
    old << in.rdbuf();
    if (old.str() == text) return true;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: readme_extract README.md OUTDIR PROGRAMS\n";
    return 2;
  }
  const std::string readme = argv[1];
  const std::string outDir = argv[2];
  const int expectedPrograms = std::atoi(argv[3]);
  std::ifstream in(readme);
  if (!in) {
    std::cerr << "readme_extract: cannot read " << readme << "\n";
    return 1;
  }

  std::vector<Block> blocks;
  std::string section = "top";
  std::string line;
  int number = 0;
  bool inFence = false;
  bool cpp = false;
  Block current;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!inFence) {
      if (startsWith(line, "## ")) section = line.substr(3);
      if (startsWith(line, "```")) {
        inFence = true;
        const std::string language = line.substr(3);
        cpp = language == "cpp" || language == "c++" || language == "cxx";
        current = Block{number + 1, section, {}};
      }
      continue;
    }
    if (startsWith(line, "```")) {
      inFence = false;
      if (cpp) blocks.push_back(current);
      continue;
    }
    current.lines.push_back(line);
  }
  if (inFence) {
    std::cerr << readme << ":" << current.firstLine - 1 << ": unterminated code block\n";
    return 1;
  }

  std::set<std::string> includes;
  std::ostringstream functions;
  std::ostringstream cases;
  int programs = 0;
  int fragments = 0;
  for (const Block& block : blocks) {
    if (isProgram(block)) {
      std::ostringstream program;
      program << "// Generated from README.md by readme_extract: do not edit.\n";
      program << "#line " << block.firstLine << " " << quoted(readme) << "\n";
      for (const auto& l : block.lines)
        program << l << "\n";
      ++programs;
      if (!writeFile(outDir + "/readme_program_" + std::to_string(programs) + ".cpp",
                     program.str())) {
        std::cerr << "readme_extract: cannot write into " << outDir << "\n";
        return 1;
      }
      continue;
    }
    ++fragments;
    std::string text;
    std::vector<std::string> body;
    for (const auto& l : block.lines) {
      if (startsWith(l, "#include")) {
        includes.insert(l);
        body.emplace_back();  // keeps the line numbers
      } else {
        body.push_back(l);
      }
      text += l + "\n";
    }
    const std::string code = codeOnly(text);
    const std::string fn = "block_line_" + std::to_string(block.firstLine);
    functions << "void " << fn << "(Fixtures& fx) {\n";
    for (const Fixture& f : kFixtures) {
      if (mentions(code, f.name) && !declares(code, f.name)) {
        functions << "  [[maybe_unused]] auto& " << f.name << " = " << f.expression << ";\n";
      }
    }
    functions << "#line " << block.firstLine << " " << quoted(readme) << "\n";
    for (const auto& l : body)
      functions << l << "\n";
    functions << "}\n\n";
    cases << "TEST_CASE(\"README.md line " << block.firstLine << " - " << plainName(block.section)
          << "\", \"[readme]\") {\n"
          << "  readme::Fixtures fx;\n"
          << "  readme::" << fn << "(fx);\n"
          << "}\n\n";
  }
  if (programs != expectedPrograms) {
    std::cerr << readme << " has " << programs << " complete programs, the build expects "
              << expectedPrograms << ": re-run cmake\n";
    return 1;
  }

  std::ostringstream out;
  out << "// Generated from README.md by readme_extract: do not edit.\n";
  for (const auto& include : includes)
    out << include << "\n";
  out << "#include \"readme_prelude.hpp\"\n\n";
  out << "namespace readme {\nnamespace {\n\n" << functions.str();
  out << "}  // namespace\n}  // namespace readme\n\n" << cases.str();
  if (fragments == 0) out << "TEST_CASE(\"README.md has C++ blocks\") { FAIL(\"none found\"); }\n";
  if (!writeFile(outDir + "/readme_blocks.cpp", out.str())) {
    std::cerr << "readme_extract: cannot write into " << outDir << "\n";
    return 1;
  }
  return 0;
}
