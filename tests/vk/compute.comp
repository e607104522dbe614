// PearVisor compute test kernel (tests/vk/compute.c holds the CPU twin).
//
// out[i] = f(in[i], i): `rounds` steps of a 32-bit LCG mixed with the index
// and an xorshift, all in exact unsigned integer arithmetic (wraps mod 2^32),
// so the CPU can check every element bit for bit.
//
// The dispatch may have fewer invocations than elements (maxComputeWorkGroupCount
// limits the grid), so each invocation walks the buffer with a grid stride.
#version 450

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer Input { uint v[]; } src;
layout(std430, set = 0, binding = 1) writeonly buffer Output { uint v[]; } dst;

layout(push_constant) uniform Params {
    uint count;   // number of uint32 elements
    uint mul;     // LCG multiplier
    uint salt;    // xor'ed with the index every round
    uint rounds;  // LCG steps per element
} pc;

void main()
{
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint x = src.v[i];
        for (uint r = 0u; r < pc.rounds; r++) {
            x = x * pc.mul + (i ^ pc.salt);
            x ^= x >> 13;
        }
        dst.v[i] = x;
    }
}
