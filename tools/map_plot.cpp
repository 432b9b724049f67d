// Precision-recall curves drawn with OpenCV's imgproc.
#include "map_plot.hpp"

#include <algorithm>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

constexpr int kWidth = 1280;
constexpr int kHeight = 900;
constexpr int kLeft = 90;    // plot area
constexpr int kTop = 60;
constexpr int kSide = 760;
constexpr int kLegendX = kLeft + kSide + 40;
constexpr int kMeanPoints = 101;

cv::Point to_pixel(double recall, double precision) {
  return {kLeft + static_cast<int>(recall * kSide + 0.5), kTop + kSide - static_cast<int>(precision * kSide + 0.5)};
}

cv::Scalar bgr(const Color& c) { return {c.b * 255, c.g * 255, c.r * 255}; }

void put(cv::Mat& canvas, const std::string& text, cv::Point at, double scale, int thickness = 1) {
  cv::putText(canvas, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), thickness, cv::LINE_AA);
}

// Highest precision at recall >= r, as the interpolated curves are defined.
double interpolated_precision(const std::vector<PrPoint>& curve, double recall) {
  double best = 0;
  for (const PrPoint& p : curve) {
    if (p.recall >= recall) best = std::max(best, p.precision);
  }
  return best;
}

// The monotone envelope AP integrates, as steps: at each recall reached, the
// best precision at that recall or beyond.
std::vector<cv::Point> envelope_steps(const std::vector<PrPoint>& curve) {
  std::vector<double> best(curve.size());
  double envelope = 0;
  for (std::size_t k = curve.size(); k-- > 0;) best[k] = envelope = std::max(envelope, curve[k].precision);
  std::vector<cv::Point> points;
  double recall = 0;
  for (std::size_t k = 0; k < curve.size(); ++k) {
    if (curve[k].recall == recall && k > 0) continue;
    points.push_back(to_pixel(recall, best[k]));
    points.push_back(to_pixel(curve[k].recall, best[k]));
    recall = curve[k].recall;
  }
  if (!points.empty()) points.push_back(to_pixel(recall, 0));
  return points;
}

Image to_image(const cv::Mat& bgr8) {
  Image image(bgr8.cols, bgr8.rows, 3);
  const std::size_t plane = static_cast<std::size_t>(bgr8.cols) * static_cast<std::size_t>(bgr8.rows);
  for (int y = 0; y < bgr8.rows; ++y) {
    const auto* row = bgr8.ptr<cv::Vec3b>(y);
    for (int x = 0; x < bgr8.cols; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(bgr8.cols) + static_cast<std::size_t>(x);
      for (int ch = 0; ch < 3; ++ch) image.data[static_cast<std::size_t>(ch) * plane + i] = row[x][2 - ch] / 255.f;
    }
  }
  return image;
}

}  // namespace

void save_pr_plot(const MapResult& result, const std::vector<std::string>& names, const std::string& path,
                  std::size_t top) {
  cv::Mat canvas(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int i = 0; i <= 10; ++i) {
    const double v = i / 10.0;
    cv::line(canvas, to_pixel(v, 0), to_pixel(v, 1), cv::Scalar(225, 225, 225), 1);
    cv::line(canvas, to_pixel(0, v), to_pixel(1, v), cv::Scalar(225, 225, 225), 1);
    put(canvas, cat(i / 10, ".", i % 10), to_pixel(v, 0) + cv::Point(-12, 24), 0.5);
    put(canvas, cat(i / 10, ".", i % 10), to_pixel(0, v) + cv::Point(-42, 5), 0.5);
  }
  cv::rectangle(canvas, to_pixel(0, 1), to_pixel(1, 0), cv::Scalar(0, 0, 0), 1);
  put(canvas, "recall", to_pixel(0.5, 0) + cv::Point(-30, 52), 0.7, 2);
  put(canvas, "precision", cv::Point(8, kTop - 20), 0.7, 2);
  put(canvas,
      cat("precision-recall, IoU > ", result.options.iou_threshold, ": mAP = ", cat(std::round(result.map * 10000) / 100),
          "%"),
      cv::Point(kLeft + 150, kTop - 20), 0.8, 2);

  const int classes = static_cast<int>(result.classes.size());
  std::vector<int> with_truths;
  for (int c = 0; c < classes; ++c) {
    if (result.classes[static_cast<std::size_t>(c)].truths > 0) with_truths.push_back(c);
  }
  std::vector<int> drawn = with_truths;
  if (top > 0 && drawn.size() > top) {
    std::stable_sort(drawn.begin(), drawn.end(), [&](int a, int b) {
      return result.classes[static_cast<std::size_t>(a)].truths > result.classes[static_cast<std::size_t>(b)].truths;
    });
    drawn.resize(top);
  }
  for (const int c : drawn) {
    cv::polylines(canvas, envelope_steps(result.classes[static_cast<std::size_t>(c)].curve), false,
                  bgr(class_color(c, classes)), 1, cv::LINE_AA);
  }
  // The mean over classes with truths of the interpolated precision.
  std::vector<cv::Point> mean;
  for (int i = 0; i < kMeanPoints && !with_truths.empty(); ++i) {
    const double recall = i / static_cast<double>(kMeanPoints - 1);
    double sum = 0;
    for (const int c : with_truths) sum += interpolated_precision(result.classes[static_cast<std::size_t>(c)].curve, recall);
    mean.push_back(to_pixel(recall, sum / static_cast<double>(with_truths.size())));
  }
  if (!mean.empty()) cv::polylines(canvas, mean, false, cv::Scalar(0, 0, 0), 3, cv::LINE_AA);

  std::stable_sort(drawn.begin(), drawn.end(), [&](int a, int b) {
    return result.classes[static_cast<std::size_t>(a)].ap > result.classes[static_cast<std::size_t>(b)].ap;
  });
  int legend_y = kTop;
  cv::line(canvas, {kLegendX, legend_y - 4}, {kLegendX + 24, legend_y - 4}, cv::Scalar(0, 0, 0), 3);
  put(canvas, "mean over classes", {kLegendX + 32, legend_y}, 0.45);
  constexpr int kLine = 14;
  const std::size_t fits = static_cast<std::size_t>((kHeight - kTop - 2 * kLine) / kLine);
  for (std::size_t i = 0; i < drawn.size(); ++i) {
    legend_y += kLine;
    if (i + 1 == fits && drawn.size() > fits) {
      put(canvas, cat("... ", drawn.size() - i, " more classes"), {kLegendX + 32, legend_y}, 0.45);
      break;
    }
    const int c = drawn[i];
    const std::string& name = static_cast<std::size_t>(c) < names.size() ? names[static_cast<std::size_t>(c)] : cat(c);
    cv::line(canvas, {kLegendX, legend_y - 4}, {kLegendX + 24, legend_y - 4}, bgr(class_color(c, classes)), 2);
    put(canvas, cat(name, "  ", std::round(result.classes[static_cast<std::size_t>(c)].ap * 1000) / 10, "%"),
        {kLegendX + 32, legend_y}, 0.45);
  }
  // Encoded by dusk's own PNG writer: OpenCV's imgcodecs would load about
  // a hundred more shared libraries into every dusk command.
  save_image(to_image(canvas), path, ImageFormat::Png);
}

}  // namespace dusk::cli
