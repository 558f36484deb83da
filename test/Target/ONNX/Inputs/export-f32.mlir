// The f32 twin of ../export.mlir (no casts): the numeric reference.

func.func @forward(%x: tensor<4x8xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<8x6xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.25> : tensor<8x6xf32>},
                   %g: tensor<6xf32> {mp.name = "ln.weight", mp.role = "param", mp.init = dense<1.0> : tensor<6xf32>})
    -> (tensor<4x6xf32> {mp.name = "y"}, tensor<4x1xf32> {mp.name = "r"}) {
  %xh = mp.identity %x : (tensor<4x8xf32>) -> tensor<4x8xf32> loc("cast_x")
  %wh = mp.identity %w : (tensor<8x6xf32>) -> tensor<8x6xf32> loc("cast_w")
  %mm = mp.matmul %xh, %wh : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32> loc("fc")
  %b = mp.identity %mm : (tensor<4x6xf32>) -> tensor<4x6xf32> loc("to_bf16")
  %bf = mp.identity %b : (tensor<4x6xf32>) -> tensor<4x6xf32> loc("to_f32")
  %f = mp.relu %bf : (tensor<4x6xf32>) -> tensor<4x6xf32> loc("relu")
  %ln:3 = mp.layer_norm %f, %g : (tensor<4x6xf32>, tensor<6xf32>) -> (tensor<4x6xf32>, tensor<4x1xf32>, tensor<4x1xf32>) loc("ln")
  %c = mp.clip %ln#0 {min = -1.0 : f64, max = 1.0 : f64} : (tensor<4x6xf32>) -> tensor<4x6xf32> loc("clip")
  %parts:2 = mp.split %c {axis = 1 : i64, split = array<i64: 2, 4>} : (tensor<4x6xf32>) -> (tensor<4x2xf32>, tensor<4x4xf32>) loc("split")
  %s = mp.slice %parts#1 {starts = array<i64: 0>, ends = array<i64: 1>, axes = array<i64: 1>} : (tensor<4x4xf32>) -> tensor<4x1xf32> loc("slice")
  %m = mp.reduce_mean %parts#0 {axes = array<i64: 1>} : (tensor<4x2xf32>) -> tensor<4x1xf32> loc("mean")
  %sum = mp.add %s, %m : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32> loc("sum")
  %d:2 = mp.dropout %sum {ratio = 0.3 : f32} : (tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xi1>) loc("drop")
  %t = mp.trilu %c {upper = 0 : i64, k = 1 : i64} : (tensor<4x6xf32>) -> tensor<4x6xf32> loc("tril")
  return %t, %d#0 : tensor<4x6xf32>, tensor<4x1xf32>
}

