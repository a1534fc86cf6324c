// Opening the page's moving sources in its <video> element: a video file or the camera.
// Each returns null when playing, else the one-line message to show.

/** Plays `file` (looped) in `video`; null, or why this browser cannot. */
export async function openVideo(video, file) {
  video.srcObject = null;
  video.loop = true;
  const failed = new Promise((resolve) => { video.onerror = () => resolve(false); });
  video.src = URL.createObjectURL(file);
  const started = video.play().then(() => true, () => false);
  if (await Promise.race([started, failed])) return null;
  const code = video.error ? ` (media error ${video.error.code})` : "";
  return `cannot play ${file.name}: this browser cannot decode it${code}; ` +
    "try an MP4 (H.264) or WebM (VP8 / VP9) file";
}

const CAMERA_ERRORS = {
  NotAllowedError: "camera access was denied: allow it in the browser's site settings and retry",
  NotFoundError: "no camera found on this device",
  NotReadableError: "the camera is in use by another program",
  OverconstrainedError: "no camera fits the request",
};

/** Shows the (rear) camera in `video`; null, or why not. */
export async function openCamera(video) {
  if (!navigator.mediaDevices?.getUserMedia) {
    return "the camera needs a secure context: open the https:// address of " +
      "`segmnv3 serve --https`, or http://localhost on this machine";
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (error) {
    return CAMERA_ERRORS[error.name] ?? `cannot open the camera: ${error.message}`;
  }
  video.removeAttribute("src");
  video.srcObject = stream;
  try {
    await video.play();
  } catch (error) {
    return `the camera stream does not play: ${error.message}`;
  }
  return null;
}
