#version 450
// pv-render-test fragment shader: the vertex color mixed with the sampled
// texture by the interpolated weight w (w = 0: the vertex color exactly).
layout(set = 0, binding = 0) uniform sampler2D tex;

layout(location = 0) in vec3 v_color;
layout(location = 1) in vec3 v_uvw;

layout(location = 0) out vec4 out_color;

void main()
{
    vec4 t = texture(tex, v_uvw.xy);
    out_color = vec4(mix(v_color, t.rgb, v_uvw.z), 1.0);
}
