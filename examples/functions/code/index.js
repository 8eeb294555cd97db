exports.test = async (event) => {
  console.log("event", JSON.stringify(event));
  return { ok: true };
};
