// dusk map and the evaluation library: Darknet's own `detector map` output on
// coco128 reproduced, hand-computed AP cases, Darknet's dataset conventions,
// and bad inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "dusk/error.hpp"
#include "dusk/eval.hpp"
#include "eval/dataset.hpp"
#include "support/fixtures.hpp"

namespace fs = std::filesystem;
using dusk::EvalImage;
using dusk::MapOptions;
using dusk::RelativeBox;
using dusk::ScoredBox;
using dusk::Truth;

namespace {

const std::string kShared = DUSK_SHARED_DIR;
const std::string kModel = kShared + "/models/yolo-fastest-1.1";
const std::string kImages = kShared + "/data/coco128/images/val2017";

// The figures of a Darknet-format map report.
struct Report {
  int detections = -1;
  int truths = -1;
  std::map<int, double> ap;  // percent
  std::map<int, std::pair<int, int>> tp_fp;
  int tp = -1, fp = -1, fn = -1;
  double map = -1;
};

Report parse_report(const std::string& text) {
  Report r;
  std::smatch m;
  std::istringstream lines(text);
  const std::regex counts(R"(detections_count = (\d+), unique_truth_count = (\d+))");
  const std::regex cls(R"(class_id = (\d+), name = .*, ap = ([0-9.]+)%\s+\(TP = (\d+), FP = (\d+)\))");
  const std::regex totals(R"(TP = (\d+), FP = (\d+), FN = (\d+), average IoU)");
  const std::regex mean(R"(mean average precision \(mAP@[0-9.]+\) = ([0-9.]+),)");
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_search(line, m, counts)) {
      r.detections = std::stoi(m[1]);
      r.truths = std::stoi(m[2]);
    } else if (std::regex_search(line, m, cls)) {
      r.ap[std::stoi(m[1])] = std::stod(m[2]);
      r.tp_fp[std::stoi(m[1])] = {std::stoi(m[3]), std::stoi(m[4])};
    } else if (std::regex_search(line, m, totals)) {
      r.tp = std::stoi(m[1]);
      r.fp = std::stoi(m[2]);
      r.fn = std::stoi(m[3]);
    } else if (std::regex_search(line, m, mean)) {
      r.map = std::stod(m[1]);
    }
  }
  return r;
}

std::string read_text(const std::string& path) {
  const std::vector<char> bytes = dusk::test::read_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

// A .data file and a sorted list of the coco128 images, as Darknet was given.
struct Coco128 {
  dusk::test::TempDir dir;
  std::string data;
  Coco128() {
    std::vector<std::string> images;
    for (const auto& entry : fs::directory_iterator(kImages)) images.push_back(entry.path().string());
    std::sort(images.begin(), images.end());
    std::string list;
    for (const std::string& image : images) list += image + "\n";
    dir.write("val.txt", list);
    data = dir.write("coco.data", "classes=80\nvalid=" + dir.file("val.txt") + "\nnames=" + kShared +
                                      "/models/coco.names\nbackup=backup/\n");
  }
};

dusk::test::CommandResult run_map(const std::string& args) {
  return dusk::test::run_command(std::string(DUSK_BINARY) + " map " + args);
}

ScoredBox scored(int class_id, float prob, RelativeBox box) { return ScoredBox{class_id, prob, box}; }

}  // namespace

TEST_CASE("dusk map reproduces Darknet's detector map on coco128, flag set by flag") {
  const Coco128 coco;
  const std::string letterboxed_cfg = coco.dir.file("letterboxed.cfg");
  {
    std::string cfg = read_text(kModel + ".cfg");
    const std::size_t net = cfg.find("[net]");
    REQUIRE(net != std::string::npos);
    cfg.insert(net + 5, "\nletter_box=1");
    coco.dir.write("letterboxed.cfg", cfg);
  }
  const std::string reference = kShared + "/reference/map/yolo-fastest-1.1_coco128-val_";
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"p0", kModel + ".cfg", "--points 0"},
      {"p11", kModel + ".cfg", "--points 11"},
      {"p101", kModel + ".cfg", "--points 101"},
      {"iou75", kModel + ".cfg", "--points 0 --iou-thresh 0.75"},
      {"th50", kModel + ".cfg", "--points 101 --thresh 0.5"},
      {"lbcfg", letterboxed_cfg, "--points 0"},
  };
  for (const auto& [name, cfg, flags] : cases) {
    CAPTURE(name);
    const auto result = run_map(coco.data + " " + cfg + " " + kModel + ".weights " + flags);
    REQUIRE_MESSAGE(result.exit_code == 0, result.err);
    const Report ours = parse_report(result.out);
    const Report darknet = parse_report(read_text(reference + name + ".txt"));
    REQUIRE(darknet.ap.size() == 80);
    CHECK(ours.detections == darknet.detections);
    CHECK(ours.truths == darknet.truths);
    REQUIRE(ours.ap.size() == darknet.ap.size());
    for (const auto& [class_id, ap] : darknet.ap) {
      CAPTURE(class_id);
      CHECK(std::abs(ours.ap.at(class_id) - ap) <= 0.01 + 1e-9);
      CHECK(ours.tp_fp.at(class_id) == darknet.tp_fp.at(class_id));
    }
    CHECK(ours.tp == darknet.tp);
    CHECK(ours.fp == darknet.fp);
    CHECK(ours.fn == darknet.fn);
    CHECK(std::abs(ours.map - darknet.map) <= 1e-4);
  }
}

TEST_CASE("map on hand-made cases: AP computed by hand") {
  const RelativeBox a{0.25f, 0.25f, 0.2f, 0.2f};
  const RelativeBox b{0.75f, 0.75f, 0.2f, 0.2f};
  const RelativeBox elsewhere{0.5f, 0.1f, 0.1f, 0.1f};

  SUBCASE("TP, FP, TP on two truths") {
    EvalImage image{{scored(0, 0.9f, a), scored(0, 0.8f, elsewhere), scored(0, 0.7f, b)}, {{0, a}, {0, b}}, 100, 100};
    // Ranks: P/R = 1/.5, .5/.5, 2/3/1. Envelope area: .5*1 + .5*2/3.
    const dusk::MapResult auc = dusk::evaluate_map({image}, 1, MapOptions{0.5f, 0, 0.25f});
    CHECK(auc.classes[0].ap == doctest::Approx(0.5 + 0.5 * 2.0 / 3).epsilon(1e-12));
    CHECK(auc.detections_count == 3);
    CHECK(auc.unique_truth_count == 2);
    CHECK(auc.tp == 2);
    CHECK(auc.fp == 1);
    CHECK(auc.fn == 0);
    CHECK(auc.precision == doctest::Approx(2.0 / 3));
    CHECK(auc.recall == doctest::Approx(1.0));
    CHECK(auc.f1 == doctest::Approx(0.8));
    CHECK(auc.average_iou == doctest::Approx(2.0 / 3));  // two exact matches over TP+FP = 3
    // 11 points: recall 0..0.5 (six points) reach precision 1, 0.6..1 (five) reach 2/3.
    const dusk::MapResult voc = dusk::evaluate_map({image}, 1, MapOptions{0.5f, 11, 0.25f});
    CHECK(voc.classes[0].ap == doctest::Approx((6 + 5 * 2.0 / 3) / 11).epsilon(1e-12));
    // At 0.75 only the first two count for the P/R line.
    const dusk::MapResult strict = dusk::evaluate_map({image}, 1, MapOptions{0.5f, 0, 0.75f});
    CHECK(strict.tp == 1);
    CHECK(strict.fp == 1);
    CHECK(strict.fn == 1);
  }
  SUBCASE("a second hit on a matched truth is a false positive") {
    EvalImage image{{scored(0, 0.9f, a), scored(0, 0.8f, a)}, {{0, a}}, 100, 100};
    const dusk::MapResult r = dusk::evaluate_map({image}, 1, {});
    CHECK(r.classes[0].ap == doctest::Approx(1.0));  // recall 1 at precision 1 first
    CHECK(r.tp == 1);
    CHECK(r.fp == 1);
    CHECK(r.classes[0].curve.back().precision == doctest::Approx(0.5));
  }
  SUBCASE("ties keep the list order, as Darknet's stable sort does") {
    EvalImage image{{scored(0, 0.5f, elsewhere), scored(0, 0.5f, a)}, {{0, a}}, 100, 100};
    // FP ranked first: precision 1/2 at recall 1.
    CHECK(dusk::evaluate_map({image}, 1, {}).classes[0].ap == doctest::Approx(0.5));
    std::swap(image.detections[0], image.detections[1]);
    CHECK(dusk::evaluate_map({image}, 1, {}).classes[0].ap == doctest::Approx(1.0));
  }
  SUBCASE("classes without truths count as AP 0 in the mean") {
    EvalImage image{{scored(0, 0.9f, a), scored(1, 0.9f, b)}, {{0, a}}, 100, 100};
    const dusk::MapResult r = dusk::evaluate_map({image}, 3, {});
    CHECK(r.classes[0].ap == doctest::Approx(1.0));
    CHECK(r.classes[1].ap == 0.0);
    CHECK(r.classes[2].ap == 0.0);
    CHECK(r.map == doctest::Approx(1.0 / 3));
  }
  SUBCASE("no truths at all, and no detections at all") {
    const dusk::MapResult none = dusk::evaluate_map({EvalImage{{scored(0, 0.9f, a)}, {}, 10, 10}}, 2, {});
    CHECK(none.map == 0.0);
    CHECK(none.unique_truth_count == 0);
    CHECK(none.fp == 1);
    const dusk::MapResult empty = dusk::evaluate_map({EvalImage{{}, {{1, a}}, 10, 10}}, 2, {});
    CHECK(empty.detections_count == 0);
    CHECK(empty.map == 0.0);
    CHECK(empty.fn == 1);
  }
  SUBCASE("IoU must be strictly above the threshold") {
    const RelativeBox truth{0.5f, 0.5f, 1.0f, 1.0f};
    const RelativeBox half{0.5f, 0.25f, 1.0f, 0.5f};  // IoU exactly 0.5
    EvalImage image{{scored(0, 0.9f, half)}, {{0, truth}}, 10, 10};
    CHECK(dusk::evaluate_map({image}, 1, MapOptions{0.5f, 0, 0.25f}).tp == 0);
    CHECK(dusk::evaluate_map({image}, 1, MapOptions{0.49f, 0, 0.25f}).tp == 1);
  }
  SUBCASE("at the threshold, an earlier weaker hit on the same truth makes a later strong one a FP (Darknet)") {
    EvalImage image{{scored(0, 0.1f, a), scored(0, 0.9f, a)}, {{0, a}}, 10, 10};
    const dusk::MapResult r = dusk::evaluate_map({image}, 1, {});
    CHECK(r.tp == 0);
    CHECK(r.fp == 1);
    CHECK(r.classes[0].ap == doctest::Approx(1.0));  // the ranking still sees the strong one first
  }
  SUBCASE("a truth of a class the detector lacks is refused") {
    CHECK_THROWS_WITH_AS(dusk::evaluate_map({EvalImage{{}, {{5, a}}, 10, 10}}, 2, {}),
                         doctest::Contains("class 5"), dusk::Error);
  }
}

TEST_CASE("COCO-style AP on hand-made cases") {
  const RelativeBox truth{0.5f, 0.5f, 0.2f, 0.2f};  // 20x20 px in a 100x100 image: small
  SUBCASE("an exact box is AP 1 at every IoU") {
    const dusk::CocoResult r = dusk::evaluate_coco({EvalImage{{scored(0, 0.9f, truth)}, {{0, truth}}, 100, 100}}, 1);
    CHECK(r.map == doctest::Approx(1.0).epsilon(1e-9));
    CHECK(r.map_small == doctest::Approx(1.0).epsilon(1e-9));
    CHECK(r.map_medium == -1);
    CHECK(r.map_large == -1);
  }
  SUBCASE("IoU 0.633 matches at 0.50, 0.55 and 0.60 only") {
    const RelativeBox shifted{0.545f, 0.5f, 0.2f, 0.2f};  // IoU = 0.155 / 0.245
    const dusk::CocoResult r = dusk::evaluate_coco({EvalImage{{scored(0, 0.9f, shifted)}, {{0, truth}}, 100, 100}}, 1);
    CHECK(r.map == doctest::Approx(0.3).epsilon(1e-9));
    CHECK(r.map50 == doctest::Approx(1.0).epsilon(1e-9));
    CHECK(r.map75 == 0.0);
  }
  SUBCASE("a false positive ranked first halves the precision; classes without truths are left out") {
    const RelativeBox away{0.1f, 0.1f, 0.1f, 0.1f};
    const dusk::CocoResult r = dusk::evaluate_coco(
        {EvalImage{{scored(0, 0.9f, away), scored(0, 0.8f, truth), scored(1, 0.9f, truth)}, {{0, truth}}, 100, 100}}, 2);
    CHECK(r.class_ap[0] == doctest::Approx(0.5).epsilon(1e-9));
    CHECK(r.class_ap[1] == -1);
    CHECK(r.map == doctest::Approx(0.5).epsilon(1e-9));
  }
}

TEST_CASE("Darknet's dataset conventions") {
  using dusk::label_path_candidates;
  CHECK(label_path_candidates("data/coco/images/val2017/a.jpg").front() == "data/coco/labels/val2017/a.txt");
  CHECK(label_path_candidates("VOC2007/JPEGImages/0001.JPEG").front() == "VOC2007/labels/0001.txt");
  CHECK(label_path_candidates("set/images/x.png").front() == "set/labels/x.txt");
  const auto beside = label_path_candidates("shots/x.jpg");
  CHECK(beside.size() == 1);
  CHECK(beside.front() == "shots/x.txt");

  const dusk::test::TempDir dir;
  const std::string data = dir.write("a.data", "\xEF\xBB\xBF# a comment\r\nclasses = 3\r\ntrain = t.txt\r\nnames=n.names\r\neval=coco\r\n");
  const dusk::DataFile parsed = dusk::read_data_file(data);
  CHECK(parsed.classes == 3);
  CHECK(parsed.valid == "t.txt");  // train= stands in for valid=
  CHECK(parsed.names == "n.names");

  const std::string labels = dir.write("l.txt", "0 0.5 0.5 0.2 0.4\r\n\n2 0.1 0.2 0.3 0.4\n");
  const std::vector<Truth> truths = dusk::read_truths(labels, 3);
  REQUIRE(truths.size() == 2);
  CHECK(truths[1].class_id == 2);
  CHECK(truths[1].box.h == 0.4f);
  CHECK_THROWS_WITH_AS(dusk::read_truths(dir.write("four.txt", "0 0.5 0.5 0.2\n"), 3),
                       doctest::Contains("four.txt:1: has 4 fields"), dusk::Error);
  CHECK_THROWS_WITH_AS(dusk::read_truths(dir.write("range.txt", "0 .5 .5 .1 .1\n3 0.5 0.5 0.2 0.2\n"), 3),
                       doctest::Contains("range.txt:2: class 3 is out of range"), dusk::Error);
  CHECK_THROWS_WITH_AS(dusk::read_truths(dir.write("nan.txt", "0 0.5 x 0.2 0.2\n"), 3),
                       doctest::Contains("nan.txt:1: 'x' is not a number"), dusk::Error);
}

TEST_CASE("dusk map: bad inputs give one clear line") {
  const dusk::test::TempDir dir;
  const std::string model = kModel + ".cfg " + kModel + ".weights";
  const std::string names = kShared + "/models/coco.names";
  const std::string image = kImages + "/000000000139.jpg";
  const std::string label = kShared + "/data/coco128/labels/val2017/000000000139.txt";
  const auto expect_error = [&](const std::string& data, const std::string& message) {
    const auto result = run_map(data + " " + model);
    CAPTURE(result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find(message) != std::string::npos);
  };
  SUBCASE("a .data file without valid= or names=") {
    dir.write("list.txt", image + "\n");
    expect_error(dir.write("nv.data", "classes=80\nnames=" + names + "\n"), "has no valid= (or train=) line");
    expect_error(dir.write("nn.data", "classes=80\nvalid=" + dir.file("list.txt") + "\n"), "has no names= line");
  }
  SUBCASE("an empty list") {
    dir.write("empty.txt", "\n\n");
    expect_error(dir.write("e.data", "valid=" + dir.file("empty.txt") + "\nnames=" + names + "\n"), "holds no images");
  }
  SUBCASE("names that do not fit the model") {
    dir.write("list.txt", image + "\n");
    dir.write("three.names", "a\nb\nc\n");
    expect_error(dir.write("n.data", "valid=" + dir.file("list.txt") + "\nnames=" + dir.file("three.names") + "\n"),
                 "has 3 names but");
    expect_error(dir.write("c.data", "classes=20\nvalid=" + dir.file("list.txt") + "\nnames=" + names + "\n"),
                 "says classes=20 but");
  }
  SUBCASE("bad label lines name file:line") {
    fs::create_directories(dir.path() / "images");
    fs::create_directories(dir.path() / "labels");
    fs::copy_file(image, dir.path() / "images" / "a.jpg");
    dir.write("labels/a.txt", "1 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2\n");
    dir.write("list.txt", dir.file("images/a.jpg") + "\n");
    const std::string data = dir.write("l.data", "valid=" + dir.file("list.txt") + "\nnames=" + names + "\n");
    expect_error(data, "labels/a.txt:2: has 4 fields");
    dir.write("labels/a.txt", "80 0.5 0.5 0.2 0.2\n");
    expect_error(data, "labels/a.txt:1: class 80 is out of range");
  }
  SUBCASE("a missing image is reported, the rest evaluated, exit 1; a missing label counts as no objects") {
    fs::create_directories(dir.path() / "images");
    fs::create_directories(dir.path() / "labels");
    fs::copy_file(image, dir.path() / "images" / "a.jpg");
    fs::copy_file(label, dir.path() / "labels" / "a.txt");
    fs::copy_file(image, dir.path() / "images" / "unlabeled.jpg");
    dir.write("list.txt", "images/a.jpg\nimages/missing.jpg\nimages/unlabeled.jpg\n");
    // Relative entries resolve against the .data file's folder when the current directory misses.
    const std::string data = dir.write("m.data", "valid=list.txt\nnames=" + names + "\n");
    const auto result = run_map(data + " " + model);
    CAPTURE(result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("missing.jpg") != std::string::npos);
    CHECK(result.err.find("1 images have no label file") != std::string::npos);
    CHECK(result.err.find("read relative to") != std::string::npos);
    CHECK(result.err.find("2 images evaluated") != std::string::npos);
    const Report report = parse_report(result.out);
    CHECK(report.truths == static_cast<int>(dusk::read_truths(label, 80).size()));
    CHECK(report.map > 0);
  }
}

TEST_CASE("dusk map --json, --coco and --plot write their files whole") {
  const Coco128 coco;
  const std::string json = coco.dir.file("map.json");
  const std::string plot = coco.dir.file("pr.png");
  const auto result = run_map(coco.data + " " + kModel + ".cfg " + kModel + ".weights --coco --json " + json +
                              " --plot " + plot + " --list " + kImages);
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  CHECK(result.out.find("AP@[.50:.95] = ") != std::string::npos);
  const std::string text = read_text(json);
  CHECK(text.find("\"detections_count\": 22535") != std::string::npos);  // --list DIR gives the same images
  CHECK(text.find("\"coco\"") != std::string::npos);
  const std::vector<char> png = dusk::test::read_bytes(plot);
  REQUIRE(png.size() > 8);
  CHECK(std::string(png.begin() + 1, png.begin() + 4) == "PNG");
}

TEST_CASE("dusk map without ceremony: --list and --names instead of a .data file, the same numbers") {
  const Coco128 coco;
  const std::string model = kModel + ".cfg " + kModel + ".weights";
  const auto with_data = run_map(coco.data + " " + model);
  REQUIRE_MESSAGE(with_data.exit_code == 0, with_data.err);
  const auto plain = run_map("--list " + kImages + " --names " + kShared + "/models/coco.names " + model);
  REQUIRE_MESSAGE(plain.exit_code == 0, plain.err);
  const Report a = parse_report(with_data.out), b = parse_report(plain.out);
  CHECK(a.map == b.map);
  CHECK(a.detections == b.detections);
  CHECK(a.ap == b.ap);

  // The plot of the 5 classes with the most truths.
  const std::string plot = coco.dir.file("top.png");
  CHECK(run_map("--list " + kImages + " --names " + kShared + "/models/coco.names " + model + " --plot " + plot +
                " --plot-top 5")
            .exit_code == 0);
  CHECK(fs::file_size(plot) > 1000);
}

TEST_CASE("dusk map's refusals name the flag that fixes them; images one directory down get a hint") {
  const Coco128 coco;
  const std::string model = kModel + ".cfg " + kModel + ".weights";
  auto result = run_map(model);
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("without a .data file, give the images with --list LIST_OR_DIR and the class names with --names") !=
        std::string::npos);
  const std::string no_valid = coco.dir.write("novalid.data", "classes=80\nnames=" + kShared + "/models/coco.names\n");
  result = run_map(no_valid + " " + model);
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("has no valid= (or train=) line; add valid=LIST, or give the image list or directory (--list "
                        "LIST_OR_DIR)") != std::string::npos);
  const std::string one_up = fs::path(kImages).parent_path().string();  // coco128/images, holding val2017/
  result = run_map("--list " + one_up + " --names " + kShared + "/models/coco.names " + model);
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("holds no image files; its subdirectory " + kImages + " holds 128 images: give that") !=
        std::string::npos);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
}
