"""A tiny custom node pack of the test suite: ``ivkgen_stripes`` draws vertical stripes.

Copied into a test server's ``nodes`` folder before it starts (``InvokeAIServer(node_packs=...)``);
it runs inside the server's own Python, so it imports InvokeAI, never ivkgen.
"""

from invokeai.app.invocations.baseinvocation import BaseInvocation, invocation
from invokeai.app.invocations.fields import InputField, WithBoard, WithMetadata
from invokeai.app.invocations.primitives import ImageOutput
from invokeai.app.services.shared.invocation_context import InvocationContext
from PIL import Image


@invocation(
    "ivkgen_stripes",
    title="Stripes (ivkgen test pack)",
    tags=["image", "test"],
    category="image",
    version="1.0.0",
    use_cache=False,
)
class StripesInvocation(BaseInvocation, WithMetadata, WithBoard):
    """An image of ``count`` vertical stripes, alternating black and white."""

    width: int = InputField(default=32, gt=0, le=512, description="Width in pixels")
    height: int = InputField(default=16, gt=0, le=512, description="Height in pixels")
    count: int = InputField(default=4, ge=1, le=64, description="Number of stripes")

    def invoke(self, context: InvocationContext) -> ImageOutput:
        image = Image.new("L", (self.width, self.height))
        stripe = max(1, self.width // self.count)
        image.putdata(
            [255 * ((x // stripe) % 2) for _ in range(self.height) for x in range(self.width)]
        )
        return ImageOutput.build(context.images.save(image=image.convert("RGB")))
