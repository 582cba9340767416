/** distiq: knowledge distillation and quantization for Node.js on native SIMD kernels. */
export { cpuInfo, getNumThreads, setNumThreads } from './ops/cpu';
export type { CpuInfo } from './ops/cpu';
export { DistiqError, DistiqRangeError, DistiqTypeError } from './errors';
export type { DistiqErrorCode } from './errors';
export { PackedWeightsF32, gemmF32, gemmF32Async, packWeightsF32 } from './ops/gemm-f32';
export type { GemmF32Options, PackWeightsF32Options } from './ops/gemm-f32';
export { gemmS8, gemmS8Async } from './ops/gemm-s8';
export type {
  GemmS8BaseOptions,
  GemmS8Float32Options,
  GemmS8Int32Options,
  GemmS8Int8Options,
  GemmS8Options,
  GemmS8Output,
  GemmS8ScaleOptions,
  GemmS8Uint8Options,
} from './ops/gemm-s8';
export { GEMM_S4_MAX_GROUP, PackedWeightsS4, gemmS4, gemmS4Async, packWeightsS4, quantizeWeightsS4 } from './ops/gemm-s4';
export type { GemmS4Options, Int4Weights, PackWeightsS4Options } from './ops/gemm-s4';
export { GEMM_S8_MAX_K, PackedWeights, packWeights } from './ops/packed-weights';
export type { PackWeightsOptions } from './ops/packed-weights';
export {
  MIN_SCALE,
  QUANT_RANGE,
  affineParams,
  dequantize,
  dequantizeAsync,
  fakeQuantize,
  minMax,
  quantGeometry,
  quantize,
  quantizeAsync,
  quantizedByteLength,
} from './ops/quantize';
export type {
  AffineParams,
  DequantizeOptions,
  FakeQuantizeOptions,
  QuantDtype,
  QuantGeometry,
  QuantGranularity,
  QuantLayout,
  QuantParams,
  QuantizeOptions,
  QuantizedArray,
} from './ops/quantize';
export { int4ByteLength, packInt4, unpackInt4 } from './ops/int4';
export {
  crossEntropy,
  distillationLoss,
  distillationLossAsync,
  logSoftmax,
  softmax,
} from './ops/softmax-kl';
export type {
  CrossEntropyOptions,
  DistillationLossOptions,
  DistillationLossResult,
  LossReduction,
  TopKTeacher,
} from './ops/softmax-kl';
// Training engine (issue 4): tensors, layers, optimizers, data, formats.
export { Tensor } from './tensor/tensor';
export { formatShape, resolveShape, shapeEquals, shapeSize, stridesOf } from './tensor/shape';
export type { Shape } from './tensor/shape';
export { Rng } from './tensor/random';
export type { RngState } from './tensor/random';
export { Module, Parameter } from './nn/module';
export type { ModuleConfig } from './nn/module';
export { Linear } from './nn/linear';
export type { LinearOptions } from './nn/linear';
export { Conv2d } from './nn/conv2d';
export type { Conv2dOptions } from './nn/conv2d';
export { AvgPool2d, MaxPool2d } from './nn/pool';
export { GELU, ReLU, Tanh } from './nn/activations';
export { Dropout } from './nn/dropout';
export type { DropoutOptions } from './nn/dropout';
export { Flatten, Sequential } from './nn/sequential';
export { BatchNorm1d, BatchNorm2d, LayerNorm } from './nn/norm';
export type { BatchNormOptions, LayerNormOptions } from './nn/norm';
export { CosineLoss, CrossEntropyLoss, MSELoss } from './nn/loss';
export type { Loss } from './nn/loss';
export {
  kaimingNormal,
  kaimingUniform,
  normalInit,
  torchDefaultInit,
  uniformInit,
  xavierNormal,
  xavierUniform,
} from './nn/init';
export { Optimizer, clipGradNorm } from './nn/optim/optimizer';
export type { OptimizerState } from './nn/optim/optimizer';
export { SGD } from './nn/optim/sgd';
export type { SGDOptions } from './nn/optim/sgd';
export { Adam, AdamW } from './nn/optim/adamw';
export type { AdamOptions } from './nn/optim/adamw';
export { LRScheduler, cosineLR, linearWarmup, stepLR } from './nn/optim/schedule';
export type { LRFactor } from './nn/optim/schedule';
export { DataLoader, TensorDataset } from './data/dataset';
export type { Batch, DataLoaderOptions, Dataset } from './data/dataset';
export { parseIdx, readIdx } from './data/idx';
export type { IdxArray } from './data/idx';
export { parseCsv, readCsv } from './data/csv';
export type { CsvOptions, CsvTable } from './data/csv';
export { encodeNpy, parseNpy, readNpy, writeNpy } from './data/npy';
export type { NpyArray, NpyData } from './data/npy';
export { FASHION_MNIST_DIR, digits, fashionMnist } from './data/builtin';
export type { BuiltinOptions, FashionMnist } from './data/builtin';
export { buildModule } from './nn/build';
export {
  MAX_HEADER_BYTES,
  decodeSafetensors,
  encodeSafetensors,
  f16ToF32,
  f32ToF16,
  readSafetensors,
} from './io/safetensors';
export type { SafeTensor, SafetensorsData, SafetensorsDtype, SafetensorsFile } from './io/safetensors';
export { writeFileAtomic } from './io/atomic';
export { loadCheckpoint, loadModel, saveCheckpoint, saveModel } from './io/model-file';
export type { CheckpointParts } from './io/model-file';
export { evaluate, fit } from './train/fit';
export type { EpochMetrics, EvalResult, FitOptions, FitResult } from './train/fit';
// Distillation (issue 5): teachers and the soft-label cache.
export {
  ModelTeacher,
  cachedTeacher,
  checkTeacherOutput,
  functionTeacher,
  modelTeacher,
  teacherLabel,
} from './distill/teacher';
export type { ModelTeacherOptions, Teacher, TeacherBatch, TeacherFunction, TeacherOutput } from './distill/teacher';
export { SOFT_LABELS_FORMAT, SOFT_LABELS_VERSION, dataFingerprint, generateSoftLabels, loadSoftLabels } from './distill/soft-labels';
export type {
  DataFingerprint,
  GenerateSoftLabelsOptions,
  SoftLabelManifest,
  SoftLabelShardEntry,
  SoftLabelSource,
  SoftLabels,
} from './distill/soft-labels';
// Distillation (issue 5): losses, schedules, the Distiller loop, students, label-free data.
export { Distiller } from './distill/distiller';
export type {
  CheckpointOptions as DistillCheckpointOptions,
  DistillEpochMetrics,
  DistillEvalResult,
  DistillFitOptions,
  DistillHistory,
  DistillProgressEvent,
  DistillTeacher,
  DistillerOptions,
  EarlyStoppingMetric,
  EarlyStoppingOptions,
} from './distill/distiller';
export { HintonKD, logitMSE, reverseKL } from './distill/kd-loss';
export type { DistillBatch, LossTerm, ReverseKLOptions, TeacherLogits } from './distill/kd-loss';
export { hiddenState } from './distill/hidden-state';
export type { HiddenStateOptions } from './distill/hidden-state';
export { constantSchedule, cosineSchedule, linearSchedule } from './distill/schedule';
export type { Schedule, ScheduleKind } from './distill/schedule';
export { initFromTeacher, narrowMlp } from './distill/student';
export type { NarrowMlpOptions } from './distill/student';
export { UnlabeledDataset, withoutLabels } from './distill/unlabeled';
export type { SampleSource } from './distill/unlabeled';
export type { SequentialTap } from './nn/sequential';
// Quantization foundations (issue 6): schemes, non-linear mappings, observers, calibration.
export { QuantScheme, quantScheme, quantizedTensorBytes, toInt4Weights } from './quant/scheme';
export type {
  KMeansInit,
  QuantMapping,
  QuantSchemeJSON,
  QuantSchemeSpec,
  QuantizedTensor,
  RangeParams,
  SchemeQuantizeOptions,
  SchemeSettings,
  WeightClip,
} from './quant/scheme';
export { NF4_TABLE } from './quant/mapping/nf4';
export {
  EntropyObserver,
  MinMaxObserver,
  MovingAverageMinMaxObserver,
  MseObserver,
  OBSERVER_KINDS,
  Observer,
  PercentileObserver,
  createObserver,
} from './quant/observers/index';
export type {
  AnyObserverOptions,
  EntropyOptions,
  HistogramObserverOptions,
  MovingAverageOptions,
  MseOptions,
  ObservedRange,
  ObserverGranularity,
  ObserverKind,
  ObserverOptions,
  PercentileOptions,
} from './quant/observers/index';
export { calibrate } from './quant/calibrate';
export type { CalibrateOptions, Calibration } from './quant/calibrate';
// PTQ and the integer runtime (issue 6). `quantizeModel` is lib/quant/ptq.ts `quantize` (the name `quantize` is the
// tensor op above).
export { quantize as quantizeModel } from './quant/ptq';
export type { ActivationConfig, ActivationMode, CalibrationData, LayerQuantConfig, QuantizeConfig } from './quant/ptq';
export { foldBatchNorm } from './quant/fold-batchnorm';
export { QuantizedModel } from './quant/runtime/quantized-model';
export { QLinear } from './quant/runtime/qlinear';
export { QConv2d } from './quant/runtime/qconv2d';
export { QTensor } from './quant/runtime/qtensor';
export type { ActParams } from './quant/runtime/qtensor';
export type { LayerMode, LayerRecord, LayerRuntime } from './quant/runtime/record';
export { QUANTIZED_FORMAT, encodeQuantized, loadQuantized, saveQuantized } from './quant/runtime/quantized-file';
export { formatQuantReport, quantReport } from './quant/report';
export type { LayerFigures, ModelFigures, QuantReport, QuantReportOptions } from './quant/report';
