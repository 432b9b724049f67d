// The cfg lexer: Darknet's rules for whitespace, comments, sections and
// options, and one-line errors that name file:line.
#include <doctest/doctest.h>

#include "dusk/dusk.hpp"
#include "support/fixtures.hpp"

using namespace dusk;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_cfg(text, "t.cfg");
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("sections, options and their line numbers") {
  const Cfg cfg = parse_cfg(
      "# a comment\n"
      "[net]\n"
      "width = 416\n"
      "  height=4 16\n"          // whitespace anywhere is dropped, as Darknet does
      "; another comment\n"
      "\n"
      "[convolutional]\r\n"      // CRLF files
      "filters=255 # inline note\r\n"
      "activation=linear\n",
      "t.cfg");
  REQUIRE(cfg.sections.size() == 2);
  CHECK(cfg.sections[0].type == "net");
  CHECK(cfg.sections[0].line == 2);
  REQUIRE(cfg.sections[0].options.size() == 2);
  CHECK(cfg.sections[0].options[0].key == "width");
  CHECK(cfg.sections[0].options[0].value == "416");
  CHECK(cfg.sections[0].options[0].line == 3);
  CHECK(cfg.sections[0].options[1].value == "416");
  CHECK(cfg.sections[1].type == "convolutional");
  CHECK(cfg.sections[1].line == 7);
  CHECK(cfg.sections[1].options[0].value == "255");
  CHECK(cfg.sections[1].options[1].line == 9);
}

TEST_CASE("malformed lines are errors naming file:line") {
  CHECK(error_of("[net]\nwidth=1\n[conv\n") == "t.cfg:3: section header '[conv' has no closing ']'; write it as [name]");
  CHECK(error_of("width=416\n[net]\n") ==
        "t.cfg:1: option 'width' comes before any section; start the file with [net]");
  CHECK(error_of("[net]\n\nfilters\n") ==
        "t.cfg:3: cannot parse 'filters'; expected key=value, [section] or a # comment");
  CHECK(error_of("[net]\nfilters=\n") == "t.cfg:2: option 'filters' has no value; expected filters=value");
  CHECK(error_of("[net]\n=3\n") == "t.cfg:2: option '=3' has no key; expected key=value");
  CHECK(error_of("[]\n") == "t.cfg:1: empty section header '[]'; name the section, e.g. [convolutional]");
  CHECK(error_of("[net]x=1\n") == "t.cfg:1: unexpected text after section header '[net]x=1'; put options on their own lines");
  CHECK(error_of(std::string("[net]\nwidth=1\0\n", 15)).find("NUL bytes") != std::string::npos);
}

TEST_CASE("load_cfg reports missing and oversized files") {
  test::TempDir dir;
  try {
    load_cfg(dir.file("missing.cfg"));
    FAIL("expected an error");
  } catch (const Error& error) {
    CHECK(std::string(error.what()).find("missing.cfg: no such file") != std::string::npos);
  }
  try {
    load_cfg(dir.path().string());
    FAIL("expected an error");
  } catch (const Error& error) {
    CHECK(std::string(error.what()).find("it is a directory") != std::string::npos);
  }
  const Cfg cfg = load_cfg(dir.write("ok.cfg", "[net]\nwidth=8\n"));
  CHECK(cfg.source == dir.file("ok.cfg"));
}
