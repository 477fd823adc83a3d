"""Every TensorRT name the harness uses, per TensorRT line: the API contract.

tests/test_trt_api_contract.py checks (1) that these are exactly the names the backend's
source uses on TensorRT objects (found with ``ast``), (2) that each is present in the
``tensorrt.so`` of TensorRT 10.x and 11.x from PyPI and in TensorRT-RTX's, for the lines it
is declared for, (3) that names valid on one line only are used only on that line's code
path (functions named ``*_trt10`` / ``*_rtx``), and (4) that the test double offers no name
outside this inventory. A call that does not exist in TensorRT 10 or 11 thus fails CI.
"""

from __future__ import annotations

# Variables (and attributes) that hold TensorRT objects in the backend's source; attribute
# names read from them, and from the module ``trt``, are TensorRT names.
TRT_OBJECTS = frozenset({
    "trt", "builder", "network", "config", "parser", "profile", "engine", "context", "runtime",
    "inspector", "layer", "tensor", "error", "registry", "cache",
})

# Public methods of the harness's own subclasses of TensorRT classes (not TensorRT names).
OWN_METHODS = frozenset({"take_errors", "release"})

# Names in TensorRT 10, TensorRT 11 and TensorRT-RTX alike.
COMMON = frozenset({
    # module level
    "Builder", "OnnxParser", "Runtime", "ILogger", "IProfiler", "NetworkDefinitionCreationFlag",
    "STRONGLY_TYPED", "BuilderFlag", "TF32", "MemoryPoolType", "WORKSPACE",
    "TACTIC_SHARED_MEMORY", "TACTIC_DRAM", "ProfilingVerbosity", "DETAILED", "TensorIOMode",
    "INPUT", "LayerInformationFormat", "JSON", "init_libnvinfer_plugins", "get_plugin_registry",
    "ERROR", "INTERNAL_ERROR", "WARNING", "log",
    # builder, network, parser
    "create_network", "create_builder_config", "create_optimization_profile",
    "build_serialized_network", "parse_from_file", "num_errors", "get_error", "node",
    "node_name", "node_operator", "code", "desc", "name", "num_inputs", "num_outputs",
    "get_input", "get_output", "num_layers", "get_layer", "type", "dtype", "shape",
    # config and profiles
    "set_memory_pool_limit", "builder_optimization_level", "profiling_verbosity", "set_flag",
    "clear_flag", "add_optimization_profile", "set_shape", "create_timing_cache",
    "set_timing_cache", "get_timing_cache", "combine", "serialize",
    # plugins
    "load_library", "all_creators",
    # runtime
    "deserialize_cuda_engine", "create_execution_context", "set_optimization_profile_async",
    "num_io_tensors", "get_tensor_name", "get_tensor_dtype", "get_tensor_shape",
    "get_tensor_mode", "get_tensor_profile_shape", "set_input_shape", "set_tensor_address",
    "execute_async_v3", "device_memory_size_v2", "get_device_memory_size_for_profile_v2",
    "profiler", "report_layer_time", "create_engine_inspector", "execution_context",
    "get_engine_information",
})

# TensorRT 10 only (weakly typed precision; removed in TensorRT 11, absent in TensorRT-RTX).
TRT10 = frozenset({
    "FP16", "BF16", "INT8", "int8_calibrator", "IInt8EntropyCalibrator2", "get_batch_size",
    "get_batch", "read_calibration_cache", "write_calibration_cache",
})

# TensorRT-RTX only (building for a named compute capability; header checks without a GPU).
RTX = frozenset({
    "ComputeCapability", "num_compute_capabilities", "set_compute_capability",
    "get_engine_validity", "EngineInvalidityDiagnostics", "MALFORMED_ENGINE",
})

# Enum members reached through getattr with a value from a fixed table.
TARGET_MEMBERS = ("SM75", "SM80", "SM86", "SM89", "SM120")

LINES = {"10": COMMON | TRT10, "11": COMMON, "rtx": COMMON | RTX | set(TARGET_MEMBERS)}
ALL = COMMON | TRT10 | RTX | set(TARGET_MEMBERS)
PATH_SUFFIX = {"10": "_trt10", "rtx": "_rtx"}
