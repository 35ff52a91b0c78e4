#include "core/npy_tensor.h"

#include <ATen/ATen.h>

#include <cstdlib>
#include <string>

#include "core/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mammovl::core {
namespace {

using ::testing::HasSubstr;

std::string Fixture(const std::string& name) { return "core/testdata/npy/" + name + ".npy"; }

TEST(NpyTensorTest, ReadsNumpyFilesWithDtypeAndShape) {
  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor f, ReadNpyTensor(Fixture("f32_2x3")));
  EXPECT_EQ(f.scalar_type(), at::kFloat);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(at::equal(f, at::arange(6, at::kFloat).mul(0.5).reshape({2, 3})));

  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor i, ReadNpyTensor(Fixture("i64_4")));
  EXPECT_EQ(i.scalar_type(), at::kLong);
  EXPECT_EQ(i[3].item<int64_t>(), 2999999999993LL);

  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor u, ReadNpyTensor(Fixture("u8_scalar")));
  EXPECT_EQ(u.dim(), 0);
  EXPECT_EQ(u.item<uint8_t>(), 200);

  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor b, ReadNpyTensor(Fixture("bool_3")));
  EXPECT_EQ(b.scalar_type(), at::kBool);
  EXPECT_FALSE(b[1].item<bool>());
}

TEST(NpyTensorTest, FortranOrderComesBackInLogicalLayout) {
  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor f, ReadNpyTensor(Fixture("f64_fortran")));
  // NumPy's logical value is [[1, 2], [3, 4]].
  EXPECT_TRUE(at::equal(f, at::tensor({1.0, 2.0, 3.0, 4.0}, at::kDouble).reshape({2, 2})));
}

TEST(NpyTensorTest, WriteReadRoundTripOfNonContiguousTensor) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/t.npy";
  at::Tensor t = at::arange(12, at::kInt).reshape({3, 4}).t();  // non-contiguous view
  MVL_ASSERT_OK(WriteNpyTensor(path, t));
  MVL_ASSERT_OK_AND_ASSIGN(at::Tensor back, ReadNpyTensor(path));
  EXPECT_TRUE(at::equal(back, t));
}

TEST(NpyTensorTest, UnsupportedDtypesAreRefused) {
  NpyArray complex;
  complex.descr = "<c8";
  complex.shape = {1};
  complex.data = std::string(8, '\0');
  EXPECT_THAT(NpyToTensor(complex, "c.npy"),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("c.npy")));
  EXPECT_THAT(TensorToNpy(at::zeros({2}, at::kComplexFloat)),
              StatusIs(absl::StatusCode::kUnimplemented));
}

}  // namespace
}  // namespace mammovl::core
