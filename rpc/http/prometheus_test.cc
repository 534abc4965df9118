#include "rpc/http/prometheus.h"

#include <cmath>

#include "gtest/gtest.h"

namespace mrpc {
namespace {

TEST(PrometheusWriterTest, EscapesHelpAndLabelValues) {
  EXPECT_EQ(PrometheusWriter::EscapeHelp("a \\ b\nc \"q\""),
            "a \\\\ b\\nc \"q\"");
  EXPECT_EQ(PrometheusWriter::EscapeLabelValue("a \\ b\nc \"q\""),
            "a \\\\ b\\nc \\\"q\\\"");
}

TEST(PrometheusWriterTest, FormatsValues) {
  EXPECT_EQ(PrometheusWriter::FormatValue(0), "0");
  EXPECT_EQ(PrometheusWriter::FormatValue(42), "42");
  EXPECT_EQ(PrometheusWriter::FormatValue(-3), "-3");
  EXPECT_EQ(PrometheusWriter::FormatValue(0.25), "0.25");
  EXPECT_EQ(PrometheusWriter::FormatValue(5e-05), "5e-05");
  EXPECT_EQ(PrometheusWriter::FormatValue(0.1), "0.1");
  EXPECT_EQ(PrometheusWriter::FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(PrometheusWriter::FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(PrometheusWriter::FormatValue(NAN), "NaN");
  // Round-trips where 15 digits do not.
  const double third = 1.0 / 3;
  EXPECT_EQ(std::strtod(PrometheusWriter::FormatValue(third).c_str(), nullptr),
            third);
}

TEST(PrometheusWriterTest, GroupsSamplesUnderOneHelpAndType) {
  PrometheusWriter w;
  w.Add("a_total", PrometheusWriter::kCounter, "A's help.", {{"m", "x"}}, 1);
  w.Add("b", PrometheusWriter::kGauge, "B\\ help\nline", {}, 2.5);
  w.Add("a_total", PrometheusWriter::kCounter, "ignored", {{"m", "y\"z"}}, 3);
  EXPECT_EQ(w.Finish(),
            "# HELP a_total A's help.\n"
            "# TYPE a_total counter\n"
            "a_total{m=\"x\"} 1\n"
            "a_total{m=\"y\\\"z\"} 3\n"
            "# HELP b B\\\\ help\\nline\n"
            "# TYPE b gauge\n"
            "b 2.5\n");
}

TEST(PrometheusWriterTest, HistogramIsCumulativeWithSumAndCount) {
  PrometheusWriter w;
  w.AddHistogram("d_seconds", "D.", {{"s", "S"}}, {0.1, 1}, {2, 0, 3}, 7.5);
  EXPECT_EQ(w.Finish(),
            "# HELP d_seconds D.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{s=\"S\",le=\"0.1\"} 2\n"
            "d_seconds_bucket{s=\"S\",le=\"1\"} 2\n"
            "d_seconds_bucket{s=\"S\",le=\"+Inf\"} 5\n"
            "d_seconds_sum{s=\"S\"} 7.5\n"
            "d_seconds_count{s=\"S\"} 5\n");
}

TEST(PrometheusWriterTest, FamilyWithoutSamplesIsLeftOut) {
  PrometheusWriter w;
  EXPECT_EQ(w.Finish(), "");
}

TEST(PrometheusWriterDeathTest, RejectsBadNames) {
  PrometheusWriter w;
  EXPECT_DEATH(w.Add("1bad", PrometheusWriter::kGauge, "", {}, 1), "bad");
  EXPECT_DEATH(w.Add("ok", PrometheusWriter::kGauge, "", {{"a-b", "v"}}, 1),
               "bad label");
}

}  // namespace
}  // namespace mrpc
