// Unit markers as quads cut from the sprite atlas (premultiplied alpha, blended as such);
// with vertex colours, the lines and tints under them (the atlas's white cell times the colour).
#import bevy_sprite::mesh2d_vertex_output::VertexOutput

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var atlas_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(1) var atlas_sampler: sampler;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let texel = textureSample(atlas_texture, atlas_sampler, in.uv);
#ifdef VERTEX_COLORS
    return texel * in.color;
#else
    return texel;
#endif
}
