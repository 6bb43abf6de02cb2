// A vendored subset of onnx/onnx.proto (proto2) as a protobufjs JSON descriptor. Kept as a .ts module rather than a
// .proto read at run time so it resolves the same way under vitest, tsx and a tsc build. Field numbers are copied
// from onnx.proto and must never change; only the messages dembed writes or reads are listed.
import protobuf from "protobufjs/light.js";

const f = (type: string, id: number, rule?: "repeated", packed?: boolean) => ({
  type,
  id,
  ...(rule ? { rule } : {}),
  ...(packed ? { options: { packed: true } } : {}),
});

const descriptor = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: f("string", 1),
            doc_string: f("string", 13),
            type: f("AttributeType", 20),
            f: f("float", 2),
            i: f("int64", 3),
            s: f("bytes", 4),
            t: f("TensorProto", 5),
            g: f("GraphProto", 6),
            floats: f("float", 7, "repeated"),
            ints: f("int64", 8, "repeated"),
            strings: f("bytes", 9, "repeated"),
            tensors: f("TensorProto", 10, "repeated"),
            graphs: f("GraphProto", 11, "repeated"),
          },
          nested: {
            AttributeType: {
              values: {
                UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5,
                FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10,
              },
            },
          },
        },
        ValueInfoProto: {
          fields: { name: f("string", 1), type: f("TypeProto", 2), doc_string: f("string", 3) },
        },
        NodeProto: {
          fields: {
            input: f("string", 1, "repeated"),
            output: f("string", 2, "repeated"),
            name: f("string", 3),
            op_type: f("string", 4),
            domain: f("string", 7),
            attribute: f("AttributeProto", 5, "repeated"),
            doc_string: f("string", 6),
          },
        },
        StringStringEntryProto: { fields: { key: f("string", 1), value: f("string", 2) } },
        ModelProto: {
          fields: {
            ir_version: f("int64", 1),
            opset_import: f("OperatorSetIdProto", 8, "repeated"),
            producer_name: f("string", 2),
            producer_version: f("string", 3),
            domain: f("string", 4),
            model_version: f("int64", 5),
            doc_string: f("string", 6),
            graph: f("GraphProto", 7),
            metadata_props: f("StringStringEntryProto", 14, "repeated"),
          },
        },
        GraphProto: {
          fields: {
            node: f("NodeProto", 1, "repeated"),
            name: f("string", 2),
            initializer: f("TensorProto", 5, "repeated"),
            doc_string: f("string", 10),
            input: f("ValueInfoProto", 11, "repeated"),
            output: f("ValueInfoProto", 12, "repeated"),
            value_info: f("ValueInfoProto", 13, "repeated"),
          },
        },
        TensorProto: {
          fields: {
            dims: f("int64", 1, "repeated"),
            data_type: f("int32", 2),
            float_data: f("float", 4, "repeated", true),
            int32_data: f("int32", 5, "repeated", true),
            string_data: f("bytes", 6, "repeated"),
            int64_data: f("int64", 7, "repeated", true),
            name: f("string", 8),
            doc_string: f("string", 12),
            raw_data: f("bytes", 9),
            external_data: f("StringStringEntryProto", 13, "repeated"),
            data_location: f("DataLocation", 14),
            double_data: f("double", 10, "repeated", true),
            uint64_data: f("uint64", 11, "repeated", true),
          },
          nested: {
            DataType: {
              values: {
                UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8,
                BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
              },
            },
            DataLocation: { values: { DEFAULT: 0, EXTERNAL: 1 } },
          },
        },
        TensorShapeProto: {
          fields: { dim: f("Dimension", 1, "repeated") },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ["dim_value", "dim_param"] } },
              fields: { dim_value: f("int64", 1), dim_param: f("string", 2), denotation: f("string", 3) },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ["tensor_type"] } },
          fields: { tensor_type: f("Tensor", 1), denotation: f("string", 6) },
          nested: {
            Tensor: { fields: { elem_type: f("int32", 1), shape: f("TensorShapeProto", 2) } },
          },
        },
        OperatorSetIdProto: { fields: { domain: f("string", 1), version: f("int64", 2) } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
export const ModelProto = root.lookupType("onnx.ModelProto");

/** TensorProto.DataType numbers, as written in onnx.proto. */
export const ONNX_DATA_TYPE = {
  float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, bfloat16: 16,
} as const;

export const ATTRIBUTE_TYPE = {
  FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
} as const;
