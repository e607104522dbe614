// PearVisor cooperative-matrix test kernel (tests/vk/coopmat.c holds the CPU
// twin): C = A x B with VK_KHR_cooperative_matrix, A and B float16, C float32,
// all row-major. Each workgroup is one subgroup and computes one M x N tile of
// C, walking K in steps of the tile's K. The tile shape comes from the
// device's VkCooperativeMatrixPropertiesKHR through specialization constants.
#version 450
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require

layout(constant_id = 0) const uint TM = 16;
layout(constant_id = 1) const uint TN = 16;
layout(constant_id = 2) const uint TK = 16;
layout(local_size_x_id = 3) in;

layout(std430, set = 0, binding = 0) readonly buffer A { float16_t v[]; } a;
layout(std430, set = 0, binding = 1) readonly buffer B { float16_t v[]; } b;
layout(std430, set = 0, binding = 2) writeonly buffer C { float v[]; } c;

layout(push_constant) uniform Params {
    uint n;  // columns of B and C
    uint k;  // columns of A, rows of B
} pc;

void main()
{
    uint row = gl_WorkGroupID.y * TM;
    uint col = gl_WorkGroupID.x * TN;
    coopmat<float, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator> acc =
        coopmat<float, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator>(0.0);
    for (uint kk = 0u; kk < pc.k; kk += TK) {
        coopmat<float16_t, gl_ScopeSubgroup, TM, TK, gl_MatrixUseA> ma;
        coopmat<float16_t, gl_ScopeSubgroup, TK, TN, gl_MatrixUseB> mb;
        coopMatLoad(ma, a.v, row * pc.k + kk, pc.k, gl_CooperativeMatrixLayoutRowMajor);
        coopMatLoad(mb, b.v, kk * pc.n + col, pc.n, gl_CooperativeMatrixLayoutRowMajor);
        acc = coopMatMulAdd(ma, mb, acc);
    }
    coopMatStore(acc, c.v, row * pc.n + col, pc.n, gl_CooperativeMatrixLayoutRowMajor);
}
