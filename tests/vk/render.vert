#version 450
// pv-render-test vertex shader: passes position through, forwards the
// per-vertex color and (u, v, texture weight) to the fragment shader.
layout(location = 0) in vec3 in_pos;
layout(location = 1) in vec3 in_color;
layout(location = 2) in vec3 in_uvw;

layout(location = 0) out vec3 v_color;
layout(location = 1) out vec3 v_uvw;

void main()
{
    gl_Position = vec4(in_pos, 1.0);
    v_color = in_color;
    v_uvw = in_uvw;
}
