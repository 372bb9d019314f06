//! Shows which pixels a clip's decoded frame N differs from its source in:
//! `--example diffmask -- CORPUS N OUT.png` (differing pixels red, the rest
//! dimmed). A quick visual check that text stays exact.
use tandem_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, FrameRef};
fn main() {
    let dir = std::env::args().nth(1).expect("corpus dir");
    let upto: usize = std::env::args().nth(2).expect("n").parse().expect("n");
    let clips = tandem_bench::list_clips(std::path::Path::new(&dir)).expect("clips");
    let (_, paths) = &clips[0];
    let mut enc = Encoder::new(EncoderConfig {
        threads: 1,
        ..Default::default()
    });
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut out = Vec::new();
    let mut last = None;
    for p in paths.iter().take(upto) {
        let (w, h, data) = tandem_bench::load_bgrx(p).expect("load");
        out.clear();
        enc.encode(
            FrameRef {
                width: w,
                height: h,
                stride: w as usize * 4,
                data: &data,
            },
            &mut out,
        )
        .expect("enc");
        dec.decode(&out).expect("dec");
        last = Some((w, h, data));
    }
    let (w, h, data) = last.expect("frame");
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let i = ((y * w + x) * 4) as usize;
        let s = &data[i..i + 3];
        let d = &dec.rgba()[i..i + 3];
        if s[0] == d[2] && s[1] == d[1] && s[2] == d[0] {
            image::Rgb([s[2] / 3, s[1] / 3, s[0] / 3])
        } else {
            image::Rgb([255, 0, 0])
        }
    });
    img.save(std::env::args().nth(3).expect("output png"))
        .expect("save");
}
