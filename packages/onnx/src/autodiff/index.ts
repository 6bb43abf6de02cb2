// Reverse-mode autodiff: vjp() appends backward nodes; VJP_RULES holds one rule per differentiable op type.
export { vjp, type VjpOptions } from "./engine.js";
export { toGatedModelProto, type GateOptions } from "./gate.js";
export {
  RULES as VJP_RULES, NO_GRADIENT, FORWARD_ONLY,
  type DifferentiableOp, type Rule as VjpRule, type RuleContext as VjpRuleContext, type Grad as VjpGrad,
} from "./rules.js";
